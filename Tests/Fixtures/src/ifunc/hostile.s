# hostile.s - libifunc-hostile.so: IFUNC resolvers a disassembler must survive.
# Hand-written x86-64 (GNU as through gcc); never run by any test.  Each symbol below is
# an exported STT_GNU_IFUNC whose value is the "resolver" named in the comment:
#   cw_loop         a loop of jumps (1: jmp 2f; 2: jmp 1b), plus a conditional back-edge loop
#   cw_mid_insn     a jump into the middle of a 10-byte movabs whose immediate holds
#                   more code (eb fe = jmp . ; then c3), overlapping decodings
#   cw_invalid      invalid opcodes in 64-bit mode (0x06 push %es, 0x0e, 0xd6 salc)
#   cw_recursive    two functions calling each other without end, and a call to itself
#   cw_falls_off    code that runs off the end of .text (no ret before the section ends:
#                   last in the file, see .section .text.zzz)
#   cw_in_data      the resolver's address is post-edited (make-ifunc.sh) to an object
#                   in .data: outside every executable section
#   cw_unmapped     post-edited to 0x7ffff0000000: outside every section and segment
# (cw_in_data and cw_unmapped are built pointing at cw_placeholder.)
	.file	"hostile.s"
	.text
	.globl	cw_ret0
	.set	cw_ret0, cw_impl
	.type	cw_impl, @function
cw_impl:
	xorl	%eax, %eax
	ret
	.size	cw_impl, .-cw_impl

	.type	resolve_loop, @function
resolve_loop:
	testl	%edi, %edi
1:	jmp	2f
2:	jmp	1b
3:	decl	%edi
	jnz	3b
	jmp	3b
	.size	resolve_loop, .-resolve_loop

	.type	resolve_mid_insn, @function
resolve_mid_insn:
	jmp	4f+2
4:	movabsq	$0x90c3c3c3c3c3feeb, %rax	# 48 b8 eb fe c3 ...: from 4f+2: jmp . ; ret
	leaq	cw_impl(%rip), %rax
	ret
	.size	resolve_mid_insn, .-resolve_mid_insn

	.type	resolve_invalid, @function
resolve_invalid:
	.byte	0x06, 0x0e, 0xd6, 0x06
	leaq	cw_impl(%rip), %rax
	ret
	.size	resolve_invalid, .-resolve_invalid

	.type	resolve_ping, @function
resolve_ping:
	call	resolve_pong
	call	resolve_ping
	leaq	cw_impl(%rip), %rax
	ret
	.size	resolve_ping, .-resolve_ping

	.type	resolve_pong, @function
resolve_pong:
	call	resolve_ping
	ret
	.size	resolve_pong, .-resolve_pong

	.type	cw_placeholder, @function
cw_placeholder:
	leaq	cw_impl(%rip), %rax
	ret
	.size	cw_placeholder, .-cw_placeholder

	.globl	cw_loop
	.type	cw_loop, @gnu_indirect_function
	.set	cw_loop, resolve_loop
	.globl	cw_mid_insn
	.type	cw_mid_insn, @gnu_indirect_function
	.set	cw_mid_insn, resolve_mid_insn
	.globl	cw_invalid
	.type	cw_invalid, @gnu_indirect_function
	.set	cw_invalid, resolve_invalid
	.globl	cw_recursive
	.type	cw_recursive, @gnu_indirect_function
	.set	cw_recursive, resolve_ping
	.globl	cw_in_data
	.type	cw_in_data, @gnu_indirect_function
	.set	cw_in_data, cw_placeholder
	.globl	cw_unmapped
	.type	cw_unmapped, @gnu_indirect_function
	.set	cw_unmapped, cw_placeholder

	.data
	.globl	cw_data_object
	.type	cw_data_object, @object
	.size	cw_data_object, 16
cw_data_object:
	.quad	0x9090909090909090, 0xc3c3c3c3c3c3c3c3

# Last: the linker places .text.zzz... after .text; keep it last in the output's .text
# by giving it its own section that GNU ld's default script appends (.text.*).
	.section .text.zzz,"ax",@progbits
	.type	resolve_falls_off, @function
resolve_falls_off:
	nop
	nop
	.size	resolve_falls_off, .-resolve_falls_off
	.globl	cw_falls_off
	.type	cw_falls_off, @gnu_indirect_function
	.set	cw_falls_off, resolve_falls_off

	.section .note.GNU-stack,"",@progbits
