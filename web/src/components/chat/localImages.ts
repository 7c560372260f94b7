/** Object URLs of images this window uploaded: shown as they are, no signed link needed. */
const localImages = new Map<string, string>()

export function rememberLocalImage(imageId: string, url: string): void {
  localImages.set(imageId, url)
}

export function localImage(imageId: string): string | undefined {
  return localImages.get(imageId)
}
