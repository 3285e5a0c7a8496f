// The lab's guest: a 512-byte boot sector whose CPU load is set at run time.
// Real-mode x86, written as bytes here (the listing beside each line; built
// with GNU as from the source in the comment block below, then checked by
// test/lab-unit/guest-image.test.ts). Every PIT tick (18.2 Hz; the PIT is put
// in mode 2 so its counter runs down once per tick) the guest spins for D % of
// the tick reading the PIT counter, then `hlt`s until the next tick. D comes
// from the keyboard through the BIOS (int 16h): keys 0..9 set 0..90 %, `b`
// sets 100 % (no hlt at all). `virsh send-key DOMAIN KEY_5` reaches it without
// any graphics. Each accepted key is echoed to COM1 (the serial log). The
// setting lives in a register, so it travels with the guest's RAM when it
// migrates. Start: 0 % (idle).
//
//   start: cli; xor ax,ax; mov ss,ax; mov sp,0x7c00
//          mov al,0x34; out 0x43,al; xor al,al; out 0x40,al; out 0x40,al  ; PIT ch0 mode 2, period 65536
//          xor si,si; sti                                    ; si = busy part of a tick, in PIT counts
//   main:  cmp si,0xffff; je key; hlt                         ; sleep till the next tick (not at 100 %)
//   key:   mov ah,1; int 16h; jz busy                         ; a key waiting?
//          xor ah,ah; int 16h; mov dx,0x3f8; out dx,al        ; take it, echo it to the serial port
//          or al,0x20; cmp al,'b'; jne digit; mov si,0xffff; jmp busy
//   digit: sub al,'0'; cmp al,9; ja busy; xor ah,ah; mov bx,6554; mul bx; mov si,ax   ; si = d * 6554
//   busy:  mov cx,si; jcxz main; xor bx,bx
//   spin:  xor al,al; out 0x43,al; in al,0x40; mov ah,al; in al,0x40; xchg al,ah       ; latch, read count
//          neg ax; cmp ax,bx; jb main                         ; elapsed = 65536 - count; wrapped: new tick
//          mov bx,ax; cmp ax,cx; jb spin; jmp main

/** Load percentages the guest understands, with the key that sets each. */
export const LOAD_KEYS: ReadonlyMap<number, string> = new Map([
  ...Array.from({ length: 10 }, (_, d) => [d * 10, `KEY_${d}`] as [number, string]),
  [100, 'KEY_B'],
]);

/** Pure: the send-key key for a load percentage (rounded down to 10 %, 100 stays 100). */
export function loadKey(percent: number): { key: string; percent: number } {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new RangeError(`load must be 0..100, got ${percent}`);
  const p = percent === 100 ? 100 : Math.floor(percent / 10) * 10;
  return { key: LOAD_KEYS.get(p)!, percent: p };
}

// prettier-ignore
export const BOOT_CODE: readonly number[] = [
  // start:
  0xfa,                          //    0  cli
  0x31, 0xc0,                    //    1  xor    %ax,%ax
  0x8e, 0xd0,                    //    3  mov    %ax,%ss
  0xbc, 0x00, 0x7c,              //    5  mov    $0x7c00,%sp
  0xb0, 0x34,                    //    8  mov    $0x34,%al
  0xe6, 0x43,                    //    a  out    %al,$0x43
  0x30, 0xc0,                    //    c  xor    %al,%al
  0xe6, 0x40,                    //    e  out    %al,$0x40
  0xe6, 0x40,                    //   10  out    %al,$0x40
  0x31, 0xf6,                    //   12  xor    %si,%si
  0xfb,                          //   14  sti
  // main:
  0x83, 0xfe, 0xff,              //   15  cmp    $0xffff,%si
  0x74, 0x01,                    //   18  je     1b <key>
  0xf4,                          //   1a  hlt
  // key:
  0xb4, 0x01,                    //   1b  mov    $0x1,%ah
  0xcd, 0x16,                    //   1d  int    $0x16
  0x74, 0x22,                    //   1f  je     43 <busy>
  0x30, 0xe4,                    //   21  xor    %ah,%ah
  0xcd, 0x16,                    //   23  int    $0x16
  0xba, 0xf8, 0x03,              //   25  mov    $0x3f8,%dx
  0xee,                          //   28  out    %al,(%dx)
  0x0c, 0x20,                    //   29  or     $0x20,%al
  0x3c, 0x62,                    //   2b  cmp    $0x62,%al
  0x75, 0x05,                    //   2d  jne    34 <digit>
  0xbe, 0xff, 0xff,              //   2f  mov    $0xffff,%si
  0xeb, 0x0f,                    //   32  jmp    43 <busy>
  // digit:
  0x2c, 0x30,                    //   34  sub    $0x30,%al
  0x3c, 0x09,                    //   36  cmp    $0x9,%al
  0x77, 0x09,                    //   38  ja     43 <busy>
  0x30, 0xe4,                    //   3a  xor    %ah,%ah
  0xbb, 0x9a, 0x19,              //   3c  mov    $0x199a,%bx
  0xf7, 0xe3,                    //   3f  mul    %bx
  0x89, 0xc6,                    //   41  mov    %ax,%si
  // busy:
  0x89, 0xf1,                    //   43  mov    %si,%cx
  0xe3, 0xce,                    //   45  jcxz   15 <main>
  0x31, 0xdb,                    //   47  xor    %bx,%bx
  // spin:
  0x30, 0xc0,                    //   49  xor    %al,%al
  0xe6, 0x43,                    //   4b  out    %al,$0x43
  0xe4, 0x40,                    //   4d  in     $0x40,%al
  0x88, 0xc4,                    //   4f  mov    %al,%ah
  0xe4, 0x40,                    //   51  in     $0x40,%al
  0x86, 0xc4,                    //   53  xchg   %al,%ah
  0xf7, 0xd8,                    //   55  neg    %ax
  0x39, 0xd8,                    //   57  cmp    %bx,%ax
  0x72, 0xba,                    //   59  jb     15 <main>
  0x89, 0xc3,                    //   5b  mov    %ax,%bx
  0x39, 0xc8,                    //   5d  cmp    %cx,%ax
  0x72, 0xe8,                    //   5f  jb     49 <spin>
  0xeb, 0xb2,                    //   61  jmp    15 <main>
];

/** Size of the disk image: the boot sector, then zeros. */
export const GUEST_IMAGE_BYTES = 1024 * 1024;

/** Pure: the raw disk image (boot sector with the 55 AA signature, zero padded). */
export function guestImage(size = GUEST_IMAGE_BYTES): Buffer {
  if (BOOT_CODE.length > 510) throw new Error('boot code does not fit in 510 bytes');
  const image = Buffer.alloc(size);
  Buffer.from(BOOT_CODE).copy(image, 0);
  image[510] = 0x55;
  image[511] = 0xaa;
  return image;
}
