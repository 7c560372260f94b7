// The REST half of the protocol: bearer token, the caller's language, and the API's error
// shape turned into one typed error the faces can show as it is.

import type { Locale, Message, Principal, Session, ShopCard, SignIn, UploadedImage } from './types'

/** An API refusal (or a failure to reach the API), with the server's code and its message
 * already in the caller's language. `status` is 0 when no answer came. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly params: Record<string, unknown>
  readonly retryAfter: number | null

  constructor(
    status: number,
    code: string,
    message: string,
    params: Record<string, unknown> = {},
    retryAfter: number | null = null,
  ) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.params = params
    this.retryAfter = retryAfter
  }

  /** The sign-in is over (expired, revoked, forged): the caller must sign in again. */
  get signedOut(): boolean {
    return this.status === 401
  }
}

/** What the client says when the server gave no message of its own (a network failure, or
 * a request refused by validation before any service ran). */
export interface FallbackMessages {
  network: string
  invalid: string
  unknown: string
}

export interface RestOptions {
  baseUrl?: string
  token: () => string | null
  locale: () => Locale
  fallback: () => FallbackMessages
  /** Called on any 401 of an authenticated request: the sign-in is gone. */
  onSignedOut?: (error: ApiError) => void
  fetch?: typeof fetch
}

type Query = Record<string, string | number | boolean | null | undefined>

export class RestClient {
  private readonly options: RestOptions

  constructor(options: RestOptions) {
    this.options = options
  }

  async request<T>(
    method: string,
    path: string,
    init: { body?: unknown; query?: Query; form?: FormData } = {},
  ): Promise<T> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'accept-language': this.options.locale(),
    }
    const token = this.options.token()
    if (token) headers.authorization = `Bearer ${token}`
    let body: BodyInit | undefined
    if (init.form) {
      body = init.form
    } else if (init.body !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(init.body)
    }
    const doFetch = this.options.fetch ?? fetch
    let response: Response
    try {
      response = await doFetch(this.url(path, init.query), { method, headers, body })
    } catch {
      throw new ApiError(0, 'network', this.options.fallback().network)
    }
    if (response.ok) return (await response.json()) as T
    const error = await this.errorOf(response)
    if (error.status === 401 && token) this.options.onSignedOut?.(error)
    throw error
  }

  url(path: string, query?: Query): string {
    const base = this.options.baseUrl ?? ''
    if (!query) return base + path
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(query)) {
      if (value !== null && value !== undefined) params.set(key, String(value))
    }
    const text = params.toString()
    return base + path + (text ? `?${text}` : '')
  }

  /** `{"error": {code, message, params}}` from the services; FastAPI's own validation
   * answer (`{"detail": [...]}`) and anything else become `invalid` / `unknown`. */
  async errorOf(response: Response): Promise<ApiError> {
    const retry = Number(response.headers.get('retry-after'))
    const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null
    let payload: unknown = null
    try {
      payload = await response.json()
    } catch {
      payload = null
    }
    const error = (payload as { error?: unknown } | null)?.error
    if (error && typeof error === 'object') {
      const { code, message, params } = error as {
        code?: unknown
        message?: unknown
        params?: unknown
      }
      if (typeof code === 'string' && typeof message === 'string') {
        const extra = params && typeof params === 'object' ? (params as Record<string, unknown>) : {}
        return new ApiError(response.status, code, message, extra, retryAfter)
      }
    }
    const fallback = this.options.fallback()
    if (response.status === 422) return new ApiError(422, 'invalid', fallback.invalid)
    return new ApiError(response.status, 'unknown', fallback.unknown, {}, retryAfter)
  }

  // --- sign-in (docs/protocol.md §1) -------------------------------------------------------

  login(kind: 'member' | 'staff', username: string, password: string): Promise<SignIn> {
    return this.request('POST', '/api/auth/login', { body: { kind, username, password } })
  }

  demoConsumer(externalId: string, nickname = ''): Promise<SignIn> {
    return this.request('POST', '/api/auth/demo-consumer', {
      body: { external_id: externalId, nickname },
    })
  }

  me(): Promise<Principal> {
    return this.request('GET', '/api/me')
  }

  // --- sessions and history -----------------------------------------------------------------

  sessions(query: { state?: string; before_id?: number; limit?: number } = {}): Promise<Session[]> {
    return this.request('GET', '/api/sessions', { query })
  }

  session(sessionId: number): Promise<Session> {
    return this.request('GET', `/api/sessions/${sessionId}`)
  }

  /** The same consumer's other sessions with the session's shop, newest first. */
  earlier(sessionId: number, limit = 100): Promise<Session[]> {
    return this.request('GET', `/api/sessions/${sessionId}/earlier`, { query: { limit } })
  }

  shop(shopId: number): Promise<ShopCard> {
    return this.request('GET', `/api/shops/${shopId}`)
  }

  /** One page of a session's history, oldest first. */
  messages(
    sessionId: number,
    page: { after_seq?: number; before_seq?: number; limit?: number } = {},
  ): Promise<Message[]> {
    return this.request('GET', `/api/sessions/${sessionId}/messages`, { query: page })
  }

  /** A link an `<img>` may load for a few minutes (no token in any URL). */
  async imageUrl(imageId: string): Promise<string> {
    const link = await this.request<{ url: string }>('GET', `/api/images/${imageId}/url`)
    return link.url
  }

  /** Uploads an image for an image message (send `{image_id: id}` next); XMLHttpRequest, since fetch reports no upload
   * progress. `onProgress` gets 0..1. */
  uploadImage(
    sessionId: number,
    file: Blob,
    onProgress?: (fraction: number) => void,
  ): Promise<UploadedImage> {
    return this.upload(this.url(`/api/sessions/${sessionId}/images`), file, onProgress)
  }

  /** A consumer's image as the first message to a shop: the upload opens the session
   * and answers its `session_id`. */
  uploadImageToShop(
    shopId: number,
    entry: string,
    file: Blob,
    onProgress?: (fraction: number) => void,
  ): Promise<UploadedImage> {
    return this.upload(this.url(`/api/shops/${shopId}/images`, { entry }), file, onProgress)
  }

  /** An image of evidence for an appeal of the caller's shop (owners and managers): in no
   * session, so any appeal can carry images, one against a failed week's measure too. */
  uploadAppealImage(file: Blob, onProgress?: (fraction: number) => void): Promise<UploadedImage> {
    return this.upload(this.url('/api/enforcement/appeal-images'), file, onProgress)
  }

  private upload(url: string, file: Blob, onProgress?: (fraction: number) => void): Promise<UploadedImage> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      xhr.open('POST', url)
      const token = this.options.token()
      if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`)
      xhr.setRequestHeader('accept-language', this.options.locale())
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress?.(event.loaded / event.total)
      }
      xhr.onerror = () => reject(new ApiError(0, 'network', this.options.fallback().network))
      xhr.onload = () => {
        const response = new Response(xhr.responseText, {
          status: xhr.status,
          headers: { 'retry-after': xhr.getResponseHeader('retry-after') ?? '' },
        })
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve(response.json() as Promise<UploadedImage>)
        } else {
          this.errorOf(response).then((error) => {
            if (error.status === 401 && token) this.options.onSignedOut?.(error)
            reject(error)
          }, reject)
        }
      }
      const form = new FormData()
      form.append('file', file)
      xhr.send(form)
    })
  }
}
