// New-session alerts: a short chime made with WebAudio (no sound file, nothing fetched) and a
// desktop notification when the agent allowed them and the page is not in view.

let audio: AudioContext | null = null

/** Two soft notes; a higher pair for a session assigned to the agent. */
export function chime(urgent: boolean): void {
  try {
    audio ??= new AudioContext()
    if (audio.state === 'suspended') void audio.resume()
    const start = audio.currentTime + 0.02
    const notes = urgent ? [880, 1175] : [660, 880]
    notes.forEach((frequency, index) => {
      const context = audio as AudioContext
      const oscillator = context.createOscillator()
      const gain = context.createGain()
      oscillator.type = 'sine'
      oscillator.frequency.value = frequency
      const at = start + index * 0.16
      gain.gain.setValueAtTime(0, at)
      gain.gain.linearRampToValueAtTime(0.18, at + 0.02)
      gain.gain.exponentialRampToValueAtTime(0.001, at + 0.32)
      oscillator.connect(gain).connect(context.destination)
      oscillator.start(at)
      oscillator.stop(at + 0.34)
    })
  } catch {
    // no audio device: the list and the title still say it
  }
}

export function notificationsSupported(): boolean {
  return typeof Notification !== 'undefined'
}

export function notificationPermission(): NotificationPermission | 'unsupported' {
  return notificationsSupported() ? Notification.permission : 'unsupported'
}

export async function askNotificationPermission(): Promise<NotificationPermission | 'unsupported'> {
  if (!notificationsSupported()) return 'unsupported'
  return Notification.requestPermission()
}

/** Only while the agent looks elsewhere: in view, the list itself says it. */
export function desktopNotify(title: string, body: string, onClick: () => void): void {
  if (notificationPermission() !== 'granted' || document.visibilityState === 'visible') return
  const note = new Notification(title, { body, tag: 'feige-session', icon: '/favicon.svg' })
  note.onclick = () => {
    window.focus()
    onClick()
    note.close()
  }
}
