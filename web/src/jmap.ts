// The client's only way to the server: the sign-in endpoints of src/webmail, JMAP
// (RFC 8620/8621) and the settings endpoints (/webmail/api/..., src/webmail/settings.h) with the
// session cookie. Every request that changes state carries the session's CSRF token.

export interface Account {
  accountId: string;
  username: string;
  csrf: string;
  // The server converts Office attachments to PDF (GET /jmap/preview/...).
  officePreview?: boolean;
}

export class AuthError extends Error {
  constructor(public status: number) {
    super(`HTTP ${status}`);
  }
}

const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:submission',
  'urn:ietf:params:jmap:quota'];
// The server allows 4 requests in progress per account; keep well below.
const MAX_IN_FLIGHT = 2;

export async function currentSession(): Promise<Account | null> {
  const r = await fetch('/webmail/session', { credentials: 'same-origin', cache: 'no-store' });
  if (r.status === 401) return null;
  if (!r.ok) throw new AuthError(r.status);
  return (await r.json()) as Account;
}

export async function signIn(username: string, password: string): Promise<Account> {
  const r = await fetch('/webmail/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!r.ok) throw new AuthError(r.status);
  return (await r.json()) as Account;
}

export async function signOut(account: Account): Promise<void> {
  const r = await fetch('/webmail/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-Mailroom-CSRF': account.csrf },
  });
  // A company sign-in (src/webmail/sso.h): end the identity provider's session too.
  if (r.status === 200) {
    const end = ((await r.json()) as { endSession?: string }).endSession;
    if (end && /^https?:\/\//.test(end)) location.assign(end);
  }
}

// A refusal of a /webmail/api endpoint: the status and the problem's detail (RFC 9457).
export class ApiError extends Error {
  constructor(public status: number, public detail: string, public reauth = false) {
    super(`HTTP ${status}: ${detail}`);
  }
}

type Invocation = [string, Record<string, unknown>, string];

export class Jmap {
  private inFlight = 0;
  private waiting: (() => void)[] = [];
  onSessionEnded: () => void = () => {};

  constructor(public account: Account) {}

  private async slot(): Promise<void> {
    if (this.inFlight < MAX_IN_FLIGHT) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }

  // Sends the calls in one request; answers the method responses in order. `using` adds
  // capabilities (the settings' VacationResponse) to the usual ones.
  async request(calls: Invocation[], using: string[] = []): Promise<Invocation[]> {
    await this.slot();
    try {
      const r = await fetch('/jmap/api', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-Mailroom-CSRF': this.account.csrf },
        body: JSON.stringify({ using: [...USING, ...using], methodCalls: calls }),
      });
      if (r.status === 401) {
        this.onSessionEnded();
        throw new AuthError(401);
      }
      if (!r.ok) throw new AuthError(r.status);
      const body = (await r.json()) as { methodResponses: Invocation[] };
      return body.methodResponses;
    } finally {
      this.release();
    }
  }

  // A blob upload (RFC 8620 6.1); answers the blob id.
  async upload(data: Blob, type: string): Promise<string> {
    await this.slot();
    try {
      const r = await fetch(`/jmap/upload/${encodeURIComponent(this.account.accountId)}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': type, 'X-Mailroom-CSRF': this.account.csrf },
        body: data,
      });
      if (r.status === 401) {
        this.onSessionEnded();
        throw new AuthError(401);
      }
      if (!r.ok) throw new AuthError(r.status);
      return ((await r.json()) as { blobId: string }).blobId;
    } finally {
      this.release();
    }
  }

  // A blob's bytes (RFC 8620 6.2): a whole message or one part.
  async download(blobId: string): Promise<Uint8Array> {
    const r = await fetch(`/jmap/download/${encodeURIComponent(this.account.accountId)}/${encodeURIComponent(blobId)}/blob`,
      { credentials: 'same-origin' });
    if (!r.ok) throw new AuthError(r.status);
    return new Uint8Array(await r.arrayBuffer());
  }

  // A POST of a form to one of the web client's own endpoints (batch save, folder backup):
  // the answer's bytes and the file name of its Content-Disposition.
  async postForm(path: string, fields: Record<string, string>): Promise<Response> {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Mailroom-CSRF': this.account.csrf },
      body: new URLSearchParams(fields).toString(),
    });
  }

  // One of the settings endpoints (/webmail/api/...): a JSON answer, or ApiError.
  async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { 'X-Mailroom-CSRF': this.account.csrf };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(`/webmail/api/${path}`, {
      method, credentials: 'same-origin', cache: 'no-store', headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status === 401) {
      this.onSessionEnded();
      throw new ApiError(401, '');
    }
    if (!r.ok) {
      let p: { detail?: string; reauth?: boolean } = {};
      try {
        p = (await r.json()) as typeof p;
      } catch {
        /* not a problem document */
      }
      throw new ApiError(r.status, p.detail ?? '', p.reauth === true);
    }
    return (await r.json()) as T;
  }

  // One call; a JMAP method error becomes an exception.
  async call<T = Record<string, unknown>>(name: string, args: Record<string, unknown>, using: string[] = []): Promise<T> {
    const [res] = await this.request([[name, { accountId: this.account.accountId, ...args }, '0']], using);
    if (res[0] === 'error') throw new Error(`${name}: ${String(res[1].type)}`);
    return res[1] as T;
  }
}
