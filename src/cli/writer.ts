// FdWriter: output to stdout or stderr that never blocks the process; a reader that stops reading makes it queue, then drop at exit.
// Writes made in one turn of the event loop go out together (a record stream is one syscall per few
// kilobytes, not one per record); what is still queued when the process exits is written then.
import { constants, fstatSync } from 'node:fs';
import { ERRNO } from '../abi.js';
import { nodeErrno } from '../errors.js';
import { writeReady } from '../native.js';

/** Writes of at most PIPE_BUF bytes to a pipe that poll() calls writable cannot block. */
const PIPE_BUF = 4096;
/** Above this much queued output, producers (record readers) should wait: the kernel rings then fill and report losses. */
const HIGH_WATER = 8 * 1024 * 1024;
const RETRY_MS = 2;
/** Text is encoded in batches of this many characters at least: one buffer each, however small the fd's chunks. */
const TEXT_BATCH = 1 << 16;
/** Bytes written in place (placeFor) go into buffers of this size at least; the room a writer asks for and did not get at a buffer's end is left unused. */
const PLACE_BUFFER = 1 << 16;

/** Writers with queued output: exits without another event-loop turn (an uncaught exception, process.exit) still write what each fd takes. */
const unwritten = new Set<FdWriter>();
process.on('exit', () => unwritten.forEach((writer) => writer.writeNow()));

export class FdWriter {
  /** Buffers of about a chunk each, ready to write; `head` is the first not yet fully written. */
  private readonly queue: Buffer[] = [];
  private head = 0;
  /** Small writes since the last chunk was sealed, joined into one when it is. */
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /** Text written since, encoded together when a batch has come or bytes follow: one buffer per batch, not one per line (joined as it comes: V8 concatenates without copying). */
  private text = '';
  /** The buffer bytes are written into in place (placeFor); those from `placeStart` to `placeEnd` are not in the tail yet. */
  private place: Buffer = Buffer.alloc(0);
  private placeStart = 0;
  private placeEnd = 0;
  private offset = 0;
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private broken = false;
  private droppedBytes = 0;
  private readonly chunk: number;
  private readonly drained = new Set<() => void>();

  constructor(readonly fd: number) {
    let chunk = 1 << 20;
    try {
      const type = fstatSync(fd).mode & constants.S_IFMT;
      if (type === constants.S_IFIFO || type === constants.S_IFSOCK || type === constants.S_IFCHR) chunk = PIPE_BUF;
    } catch {
      // Closed or invalid: writes will fail and be dropped.
    }
    this.chunk = chunk;
  }

  /** Queues text and writes what the fd takes now; the rest follows as the reader reads. */
  write(text: string): void {
    if (this.broken || text === '') return;
    this.takePlaced();
    this.text += text;
    // Counted as one byte a character until encoded, where the count is made exact.
    this.queued += text.length;
    if (this.text.length >= TEXT_BATCH) this.encodeText();
    // Once scheduled, the writer stays so until its queue is written: a stream of records schedules once.
    if (!this.scheduled && this.timer === undefined) this.schedule();
  }

  /** Queues bytes (kept until written: the caller must not change them) and writes what the fd takes now. */
  writeBytes(bytes: Buffer): void {
    if (this.broken || bytes.length === 0) return;
    this.encodeText();
    this.takePlaced();
    this.tail.push(bytes);
    this.tailBytes += bytes.length;
    if (this.tailBytes >= this.chunk) this.seal();
    this.queued += bytes.length;
    this.schedule();
  }

  /**
   * A buffer with room for `bytes` bytes from `placeAt`, for output written straight into it (no
   * string between); commitPlace then queues what was written. Until then, nothing else may be written.
   */
  placeFor(bytes: number): Buffer {
    this.encodeText();
    if (this.placeEnd + bytes > this.place.length) {
      this.takePlaced();
      // A chunk at least: a file's output then goes into the queue as it was written, not copied into a chunk.
      this.place = Buffer.allocUnsafe(Math.max(PLACE_BUFFER, this.chunk, bytes));
      this.placeStart = this.placeEnd = 0;
    }
    return this.place;
  }

  /** Where bytes written in place go next in placeFor's buffer. */
  get placeAt(): number {
    return this.placeEnd;
  }

  /** Queues what was written in place, up to `end`. */
  commitPlace(end: number): void {
    if (this.broken || end <= this.placeEnd) return;
    this.queued += end - this.placeEnd;
    this.placeEnd = end;
    if (this.placeEnd - this.placeStart >= this.chunk) this.takePlaced();
    if (!this.scheduled && this.timer === undefined) this.schedule();
  }

  /** Moves the bytes written in place into the tail, in order before what follows. */
  private takePlaced(): void {
    if (this.placeEnd === this.placeStart) return;
    const bytes = this.place.subarray(this.placeStart, this.placeEnd);
    this.placeStart = this.placeEnd;
    if (bytes.length >= this.chunk / 2) {
      // Big enough to be written as it is, not copied into a chunk.
      this.seal();
      this.queue.push(bytes);
      return;
    }
    this.tail.push(bytes);
    this.tailBytes += bytes.length;
    if (this.tailBytes >= this.chunk) this.seal();
  }

  /** Writes soon: what one turn of the event loop wrote goes out together. */
  private schedule(): void {
    unwritten.add(this);
    if (this.timer === undefined && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (this.timer === undefined) this.pump();
      });
    }
  }

  /** Bytes waiting for the reader. */
  get pending(): number {
    return this.queued;
  }

  /** True while so much waits that producers should pause. */
  get congested(): boolean {
    return this.queued > HIGH_WATER;
  }

  /** Bytes dropped: the reader went away (EPIPE) or drop() was called. */
  get dropped(): number {
    return this.droppedBytes;
  }

  /**
   * Resolves true when everything queued is written, false when the reader takes nothing for
   * `idleMs` (a reader that is slow but reading is waited for; one that stopped is not).
   */
  drain(idleMs: number): Promise<boolean> {
    if (this.queued === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let pending = this.queued;
      const done = (): void => {
        clearInterval(watch);
        this.drained.delete(done);
        resolve(true);
      };
      const watch = setInterval(() => {
        if (this.queued < pending) {
          pending = this.queued;
          return;
        }
        clearInterval(watch);
        this.drained.delete(done);
        resolve(this.queued === 0);
      }, idleMs);
      this.drained.add(done);
    });
  }

  /** Forgets what is still queued (the reader is stuck and the process must end); returns how much. */
  drop(): number {
    const bytes = this.queued;
    this.droppedBytes += bytes;
    this.queue.length = 0;
    this.head = 0;
    this.tail = [];
    this.tailBytes = 0;
    this.text = '';
    this.placeStart = this.placeEnd;
    this.offset = 0;
    this.queued = 0;
    unwritten.delete(this);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    return bytes;
  }

  /** Writes what the fd takes now (at exit). */
  writeNow(): void {
    this.pump();
  }

  private pump(): void {
    this.timer = undefined;
    this.seal();
    while (this.head < this.queue.length) {
      const head = this.queue[this.head]!;
      let written: number;
      try {
        written = writeReady(this.fd, head, this.offset, head.length - this.offset, this.chunk);
      } catch (error) {
        // The reader is gone (EPIPE) or the fd is bad: nothing will ever be read again.
        if (nodeErrno(error) === ERRNO.EPIPE || nodeErrno(error) === ERRNO.EBADF) this.broken = true;
        this.drop();
        return;
      }
      this.offset += written;
      this.queued -= written;
      if (this.offset < head.length) {
        this.timer = setTimeout(() => this.pump(), RETRY_MS);
        return;
      }
      this.head++;
      this.offset = 0;
      // Let written chunks go while a slow reader keeps the queue from emptying.
      if (this.head >= 1024) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
    }
    this.queue.length = 0;
    this.head = 0;
    unwritten.delete(this);
    for (const done of [...this.drained]) done();
  }

  /** Moves the small writes into the queue as one buffer. */
  private seal(): void {
    this.encodeText();
    this.takePlaced();
    if (this.tail.length === 0) return;
    this.queue.push(this.tail.length === 1 ? this.tail[0]! : Buffer.concat(this.tail, this.tailBytes));
    this.tail = [];
    this.tailBytes = 0;
  }

  /** Encodes the text written so far into the tail, in order before any bytes that follow. */
  private encodeText(): void {
    if (this.text.length === 0) return;
    const bytes = Buffer.from(this.text, 'utf8');
    this.queued += bytes.length - this.text.length;
    this.text = '';
    this.tail.push(bytes);
    this.tailBytes += bytes.length;
    if (this.tailBytes >= this.chunk) this.seal();
  }
}
