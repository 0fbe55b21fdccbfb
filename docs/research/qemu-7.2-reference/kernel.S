/* Tiny multiboot (v1) kernel for QEMU TCG migration measurements.
 * Loaded by QEMU -kernel at 1 MiB; entered in 32-bit protected mode,
 * paging off, interrupts off.
 * Phase 1: fill [FILL_START, FILL_END) with non-zero dwords (distinct per dword).
 * Then set FLAG (phys 0x7004) = 0x600DF111.
 * Mode HALT (default): cli; hlt in a loop.
 * Mode WRITE (-DWRITER): loop forever writing one byte per 4 KiB page over
 *   [WS_START, WS_START+WS_SIZE); after each full pass increment the
 *   32-bit counter PASSES at phys 0x7000.
 * FILL_END and WS_SIZE are passed by build.sh with -D.            */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010003      /* page-align, mem info, a.out kludge (addresses) */
#define PASSES   0x7000
#define FLAG     0x7004
#define FILL_START 0x00200000
#ifndef FILL_END
#error FILL_END
#endif
#ifndef WS_SIZE
#define WS_SIZE  0x04000000      /* 64 MiB */
#endif
#define WS_START FILL_START

        .section .text
        .code32
        .globl _start
        .align 4
mb_header:
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)
        .long mb_header          /* header_addr   */
        .long _start_load        /* load_addr     */
        .long _load_end          /* load_end_addr */
        .long _bss_end           /* bss_end_addr  */
        .long _start             /* entry_addr    */
_start:
        cli
        movl $0x00100000, %esp   /* stack below the kernel (1 MiB) */
        movl $0, PASSES
        movl $0, FLAG
        /* fill: eax = running non-zero value, edi = pointer */
        cld
        movl $FILL_START, %edi
        movl $((FILL_END - FILL_START) / 4), %ecx
        movl $0x01010101, %eax
1:      movl %eax, (%edi)
        addl $4, %edi
        addl $0x00010003, %eax   /* never wraps to 0 over the fill range */
        orl  $1, %eax
        decl %ecx
        jnz 1b
        movl $0x600DF111, FLAG
#ifdef WRITER
        movl $1, %ebx
2:      movl $WS_START, %edi
        movl $(WS_SIZE / 4096), %ecx
3:      movb %bl, (%edi)
        addl $4096, %edi
        decl %ecx
        jnz 3b
        incl PASSES
        incl %ebx
        orl  $1, %ebx
        jmp 2b
#endif
4:      cli
        hlt
        jmp 4b
