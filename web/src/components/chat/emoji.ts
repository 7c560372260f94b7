// The emoji picker's set: the faces and gestures people use with shops, shipped with the
// app (no emoji CDN; the device's own emoji font draws them).
export const EMOJI: readonly string[] = [
  '😀', '😄', '😁', '😊', '🙂', '😉', '😍', '🥰', '😘', '😋', '😎', '🤗',
  '🤔', '😐', '😅', '😂', '🤣', '😭', '😢', '😥', '😓', '😔', '😟', '😠',
  '😡', '😤', '😱', '😳', '😴', '🤤', '😷', '🙄', '😮', '🥺', '😇', '🤩',
  '👍', '👎', '👌', '✌️', '🙏', '👏', '🤝', '💪', '👋', '🙌', '🤞', '👀',
  '❤️', '💔', '💯', '🔥', '✨', '🎉', '🎁', '🌹', '☕', '📦', '🚚', '💰',
  '✅', '❌', '❓', '❗',
]
