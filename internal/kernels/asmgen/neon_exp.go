package main

import "fmt"

// neonSoftmaxConsts and neonSigmoidConsts are the constants of
// softmaxColsNEON and sigmoidMulNEON, which each load theirs into V16
// onwards, in these orders, from the four-lane table expn<> (the first
// list, then the second).
var (
	neonSoftmaxConsts = []string{"e2min", "e2magic", "e2c6", "e2c5", "e2c4", "e2c3", "e2c2", "e2c1", "one", "slack", "neginf"}
	neonSigmoidConsts = []string{"log2e", "ln2hi", "ln2lo", "p0", "p1", "p2", "p3", "p4", "p5", "expmin", "expmax", "one", "i127"}
)

// constReg is the register a function whose constants are list keeps
// constant name in.
func constReg(list []string, name string) int {
	for i, n := range list {
		if n == name {
			return 16 + i
		}
	}
	panic("no NEON constant " + name)
}

// neonConsts emits the table expn<>: the constants of both lists (with the
// values of the amd64 table, expConsts), each over four lanes.
func (a *asm) neonConsts() {
	a.l("// Constants of softmaxColsNEON and sigmoidMulNEON, each over four lanes.")
	for i, name := range append(append([]string(nil), neonSoftmaxConsts...), neonSigmoidConsts...) {
		var bits uint32
		found := false
		for _, k := range expConsts {
			if k.name == name {
				bits, found = k.bits, true
			}
		}
		if !found {
			panic("no constant " + name)
		}
		for lane := range 4 {
			a.l("DATA expn<>+%d(SB)/4, $0x%08x", 16*i+4*lane, bits)
		}
	}
	a.l("GLOBL expn<>(SB), RODATA|NOPTR, $%d\n", 16*(len(neonSoftmaxConsts)+len(neonSigmoidConsts)))
}

// loadNEONConsts loads the constants of list, which starts off bytes into
// expn<>, into V16 onwards through R7.
func (a *asm) loadNEONConsts(list []string, off int) {
	a.in("MOVD $expn<>+%d(SB), R7", off)
	for i := 0; i < len(list); i += 4 {
		regs := ""
		for r := i; r < min(i+4, len(list)); r++ {
			if regs != "" {
				regs += ", "
			}
			regs += fmt.Sprintf("V%d.S4", 16+r)
		}
		if i+4 < len(list) {
			a.in("VLD1.P 64(R7), [%s]", regs)
		} else {
			a.in("VLD1 (R7), [%s]", regs)
		}
	}
}

// exp2NEON emits exp2For (exp.go) of register v in place, step for step as
// the amd64 form (asm.exp2) with fused multiply-adds, for v >= exp2Min
// handled by a mask; temporaries t, p, q and mask.
func (a *asm) exp2NEON(v, t, p, q, mask int) {
	c := func(name string) int { return constReg(neonSoftmaxConsts, name) }
	a.in("%s", vec3("fcmge", mask, v, c("e2min")))
	a.in("%s", vec3("fmax", v, v, c("e2min")))
	a.in("%s", vec3("fadd", t, v, c("e2magic")))
	a.in("%s", vec3("fsub", p, t, c("e2magic")))
	a.in("%s", vec3("fsub", v, v, p)) // r = x - n, exact
	// Horner: acc = c(k) + prev*r, alternating between p and q.
	prev, acc := c("e2c6"), p
	for _, k := range []string{"e2c5", "e2c4", "e2c3", "e2c2", "e2c1", "one"} {
		a.in("VMOV V%d.B16, V%d.B16", c(k), acc)
		a.in("VFMLA V%d.S4, V%d.S4, V%d.S4", v, prev, acc)
		prev = acc
		if acc == p {
			acc = q
		} else {
			acc = p
		}
	}
	a.in("VSHL $23, V%d.S4, V%d.S4", t, t) // 2^n: n + 127 in the exponent field
	a.in("%s", vec3("fmul", v, prev, t))
	a.in("VAND V%d.B16, V%d.B16, V%d.B16", mask, v, v)
}

// softmaxColsNEON emits softmaxColsNEON, softmaxColsGo for w a multiple
// of 4, four lanes at a time (see asm.softmaxCols, the amd64 form).
func (a *asm) softmaxColsNEON() {
	c := func(name string) int { return constReg(neonSoftmaxConsts, name) }
	a.l(`// func softmaxColsNEON(s *float32, rows, w int, m, l, corr *float32)
TEXT ·softmaxColsNEON(SB), NOSPLIT, $0-48
	MOVD s+0(FP), R0
	MOVD rows+8(FP), R1
	MOVD w+16(FP), R2
	MOVD m+24(FP), R3
	MOVD l+32(FP), R4
	MOVD corr+40(FP), R5
	LSL $2, R2, R6`)
	a.loadNEONConsts(neonSoftmaxConsts, 0)
	a.l(`
smchunk:
	VLD1 (R3), [V0.S4]
	VMOV V0.B16, V1.B16
	MOVD R0, R8
	MOVD R1, R9

smmax:
	VLD1.P (R8)(R6), [V2.S4]
	%s
	SUBS $1, R9, R9
	BNE smmax
	%s
	%s
	VBSL V0.B16, V1.B16, V3.B16
	%s
	%s
	%s`, vec3("fmax", 1, 1, 2),
		vec3("fadd", 2, 0, c("slack")),
		vec3("fcmgt", 3, 1, 2), // V3: mx > m + slack, then mNew
		vec3("fcmeq", 4, 3, c("neginf")),
		vec3("bic", 5, 3, 4), // the reference, -Inf read as 0
		vec3("fsub", 6, 0, 5))
	a.exp2NEON(6, 1, 2, 7, 27)
	a.l(`	VBSL V6.B16, V%d.B16, V4.B16
	VST1 [V4.S4], (R5)
	VST1 [V3.S4], (R3)
	VEOR V7.B16, V7.B16, V7.B16
	MOVD R0, R8
	MOVD R1, R9

smexp:
	VLD1 (R8), [V0.S4]
	%s`, c("one"), vec3("fsub", 0, 0, 5))
	a.exp2NEON(0, 1, 2, 3, 6)
	a.l(`	VST1 [V0.S4], (R8)
	ADD R6, R8, R8
	%s
	SUBS $1, R9, R9
	BNE smexp
	VLD1 (R4), [V1.S4]
	VFMLA V4.S4, V1.S4, V7.S4
	VST1 [V7.S4], (R4)
	ADD $16, R0, R0
	ADD $16, R3, R3
	ADD $16, R4, R4
	ADD $16, R5, R5
	SUBS $4, R2, R2
	BNE smchunk
	RET`, vec3("fadd", 7, 7, 0))
}

// sigmoidMulNEON emits sigmoidMulNEON, sigmoidMulGo for n a multiple of 4,
// four lanes at a time, with exp32 as Go computes it on arm64 (which
// fuses its multiply-adds: y, r and the polynomial, (p·r)·r + r): the same
// bits as the Go loop, except that exp's argument is clamped at expMax
// (as the amd64 form does) where Go returns +Inf.
func (a *asm) sigmoidMulNEON() {
	c := func(name string) int { return constReg(neonSigmoidConsts, name) }
	v3 := func(op string, d, n, m int) { a.in("%s", vec3(op, d, n, m)) }
	a.l(`// func sigmoidMulNEON(dst, src *float32, n int, a, b, k float32)
TEXT ·sigmoidMulNEON(SB), NOSPLIT, $0-36
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
	LSR $2, R2, R2
	CBZ R2, sigdone
	MOVWU a+24(FP), R3
	VDUP R3, V0.S4
	MOVWU b+28(FP), R3
	VDUP R3, V1.S4
	MOVWU k+32(FP), R3
	EORW $0x80000000, R3, R3
	VDUP R3, V2.S4`)
	a.loadNEONConsts(neonSigmoidConsts, 16*len(neonSoftmaxConsts))
	a.l("\nsigloop:")
	a.in("VLD1.P 16(R1), [V3.S4]")
	a.in("VMOV V1.B16, V4.B16")
	a.in("VFMLA V0.S4, V3.S4, V4.S4") // y = src*a + b
	v3("fmul", 5, 2, 4)               // x = -k*y
	v3("fmin", 5, 5, c("expmax"))
	v3("fcmge", 6, 5, c("expmin")) // underflow mask
	v3("fmax", 5, 5, c("expmin"))
	v3("fmul", 7, 5, c("log2e"))
	a.in("%s", vec2("frintn", 7, 7))               // n
	a.in("VFMLS V%d.S4, V7.S4, V5.S4", c("ln2hi")) // r = x - n·ln2hi
	a.in("VFMLS V%d.S4, V7.S4, V5.S4", c("ln2lo")) // r -= n·ln2lo
	prev, acc, other := c("p0"), 8, 9
	for _, k := range []string{"p1", "p2", "p3", "p4", "p5"} {
		a.in("VMOV V%d.B16, V%d.B16", c(k), acc)
		a.in("VFMLA V5.S4, V%d.S4, V%d.S4", prev, acc) // acc = p_k + prev·r
		prev, acc, other = acc, other, acc
	}
	v3("fmul", 10, prev, 5) // p·r
	a.in("VMOV V5.B16, V11.B16")
	a.in("VFMLA V5.S4, V10.S4, V11.S4") // (p·r)·r + r
	v3("fadd", 11, 11, c("one"))
	a.in("%s", vec2("fcvtzs", 7, 7))
	a.in("VADD V%d.S4, V7.S4, V7.S4", c("i127"))
	a.in("VSHL $23, V7.S4, V7.S4") // 2ⁿ
	v3("fmul", 11, 11, 7)
	a.in("VAND V6.B16, V11.B16, V11.B16")
	v3("fadd", 11, 11, c("one"))
	v3("fdiv", 4, 4, 11)
	a.l(`	VST1.P [V4.S4], 16(R0)
	SUBS $1, R2, R2
	BNE sigloop

sigdone:
	RET
`)
}
