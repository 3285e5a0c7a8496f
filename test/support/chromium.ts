// Headless Chromium for the tests that look at a page as a reader would: the
// Debian package `chromium-headless-shell`, driven over the DevTools protocol
// on a pipe (`--remote-debugging-pipe`: JSON messages ended by NUL, written to
// its fd 3 and read from its fd 4), so no port is opened and no package beyond
// the browser is needed. One page per `open`, its layout at the width asked.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = '/usr/bin/chromium-headless-shell';

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (bash lab/install-packages.sh --tests, as .ci/run does)`;
}

interface Pending {
  readonly resolve: (value: Record<string, unknown>) => void;
  readonly reject: (error: Error) => void;
  readonly method: string;
}

export class Chromium {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(method: string, params: Record<string, unknown>, sessionId?: string) => void>();
  private buffer = '';
  private exited: Error | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly input: Writable,
    output: Readable,
    private readonly profile: string,
    private readonly stderr: string[],
  ) {
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => this.receive(chunk));
    child.on('exit', (code, signal) => {
      this.exited = new Error(`chromium exited (${signal ?? code}) with pending ${[...this.pending.values()].map((p) => p.method).join(', ') || 'nothing'}: ${this.stderr.join('').slice(-2000)}`);
      for (const p of this.pending.values()) p.reject(this.exited);
      this.pending.clear();
    });
  }

  static async launch(): Promise<Chromium> {
    const profile = await mkdtemp(join(tmpdir(), 'hvmctl-chromium-'));
    // Root in CI: Chromium's own sandbox refuses to run as root without --no-sandbox;
    // the pages it opens are files the test wrote.
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', '--disable-extensions', '--mute-audio', `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank'];
    const child = spawn(CHROMIUM, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    child.stderr?.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
    const input = child.stdio[3] as Writable;
    const output = child.stdio[4] as Readable;
    const browser = new Chromium(child, input, output, profile, stderr);
    try {
      await browser.send('Browser.getVersion');
    } catch (error) {
      child.kill('SIGKILL');
      await rm(profile, { recursive: true, force: true });
      throw error;
    }
    return browser;
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\0')) !== -1) {
      const message = JSON.parse(this.buffer.slice(0, end)) as { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown>; sessionId?: string };
      this.buffer = this.buffer.slice(end + 1);
      if (message.id !== undefined) {
        const p = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (p && message.error) p.reject(new Error(`${p.method}: ${message.error.message}`));
        else p?.resolve(message.result ?? {});
      } else if (message.method) {
        for (const l of this.listeners) l(message.method, message.params ?? {}, message.sessionId);
      }
    }
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  /** A page showing `html` (written to a file, opened as file://) at `width` × `height` CSS pixels, loaded. */
  async open(html: string, width: number, height = 900): Promise<Page> {
    const file = join(this.profile, `page-${this.nextId}.html`);
    await writeFile(file, html);
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    await this.send('Page.enable', {}, sessionId);
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false }, sessionId);
    const loaded = new Promise<void>((resolve) => {
      const l = (method: string, _p: Record<string, unknown>, s?: string) => {
        if (method === 'Page.loadEventFired' && s === sessionId) {
          this.listeners.delete(l);
          resolve();
        }
      };
      this.listeners.add(l);
    });
    const { errorText } = (await this.send('Page.navigate', { url: `file://${file}` }, sessionId)) as { errorText?: string };
    if (errorText) throw new Error(`chromium could not open ${file}: ${errorText}`);
    await loaded;
    return new Page(this, targetId, sessionId);
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise((resolve) => this.child.once('exit', resolve));
      await this.send('Browser.close').catch(() => undefined);
      await gone;
    }
    await rm(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(
    private readonly browser: Chromium,
    private readonly targetId: string,
    private readonly sessionId: string,
  ) {}

  /** The value of a JavaScript expression in the page (JSON-serialisable). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.browser.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, this.sessionId)) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** A PNG of the page, or of `height` CSS pixels of it from `top` (for a person to look at; the tests assert on the layout). */
  async screenshot(file: string, part?: { readonly top: number; readonly height: number }): Promise<void> {
    const width = await this.evaluate<number>('document.documentElement.scrollWidth');
    const clip = part ? { x: 0, y: part.top, width, height: part.height, scale: 1 } : undefined;
    const { data } = (await this.browser.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, ...(clip ? { clip } : {}) }, this.sessionId)) as { data: string };
    await writeFile(file, Buffer.from(data, 'base64'));
  }

  async close(): Promise<void> {
    await this.browser.send('Target.closeTarget', { targetId: this.targetId });
  }
}
