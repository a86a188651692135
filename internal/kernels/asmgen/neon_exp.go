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

// neonGeluRegs are the constants geluNEON keeps in V14–V31 (its two
// polynomials); neonGeluLoads those it loads as it needs them, from the
// table after the other lists' constants.
var (
	neonGeluRegs  = []string{"c9", "c8", "c7", "c6", "c5", "c4", "c3", "c2", "c1", "c0", "q7", "q6", "q5", "q4", "q3", "q2", "q1", "q0"}
	neonGeluLoads = []string{"one", "half", "clamp16", "halfrsqrt2", "expmin", "log2e", "ln2hi", "ln2lo", "p0", "p1", "p2", "p3", "p4", "p5", "i127", "two", "smallthr"}
)

// neonConsts emits the table expn<>: the constants of neonLists (with the
// values of the amd64 table, expConsts), each over four lanes.
func (a *asm) neonConsts() {
	a.l("// Constants of softmaxColsNEON, sigmoidMulNEON and geluNEON, each over four lanes.")
	for i, name := range neonTable() {
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
	a.l("GLOBL expn<>(SB), RODATA|NOPTR, $%d\n", 16*len(neonTable()))
}

// neonLists are the lists of expn<>, in its order.
var neonLists = [][]string{neonSoftmaxConsts, neonSigmoidConsts, neonGeluRegs, neonGeluLoads}

// neonTable lists expn<>'s constants in order: softmax's, sigmoid's,
// GELU's in registers, GELU's loaded.
func neonTable() []string {
	var t []string
	for _, l := range neonLists {
		t = append(t, l...)
	}
	return t
}

// neonTableOff is the byte offset in expn<> of the list starting with
// constant list[0] (the lists are laid out as neonTable orders them).
func neonTableOff(list []string) int {
	off := 0
	for _, l := range neonLists {
		if &l[0] == &list[0] {
			return off
		}
		off += 16 * len(l)
	}
	panic("not a table list")
}

// loadNEONConsts loads the constants of list (a list of neonTable) into
// V<first> onwards through R7, leaving R7 just past them in expn<>.
func (a *asm) loadNEONConsts(list []string, first int) {
	a.in("MOVD $expn<>+%d(SB), R7", neonTableOff(list))
	for i := 0; i < len(list); i += 4 {
		regs := ""
		for r := i; r < min(i+4, len(list)); r++ {
			if regs != "" {
				regs += ", "
			}
			regs += fmt.Sprintf("V%d.S4", first+r)
		}
		a.in("VLD1.P %d(R7), [%s]", 16*min(4, len(list)-i), regs)
	}
}

// hornerNEON emits Horner's rule with fused multiply-adds, acc = k +
// prev·x for each coefficient k of ks (set puts k into acc), alternating
// acc between registers r0 and r1, and returns the register of the result.
func (a *asm) hornerNEON(prev, x, r0, r1 int, ks []string, set func(acc int, k string)) int {
	acc, other := r0, r1
	for _, k := range ks {
		set(acc, k)
		a.in("VFMLA V%d.S4, V%d.S4, V%d.S4", x, prev, acc)
		prev, acc, other = acc, other, acc
	}
	return prev
}

// movFrom sets a Horner coefficient by copying it from its register.
func (a *asm) movFrom(reg func(string) int) func(int, string) {
	return func(acc int, k string) { a.in("VMOV V%d.B16, V%d.B16", reg(k), acc) }
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
	prev := a.hornerNEON(c("e2c6"), v, p, q, []string{"e2c5", "e2c4", "e2c3", "e2c2", "e2c1", "one"}, a.movFrom(c))
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
	a.loadNEONConsts(neonSoftmaxConsts, 16)
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
	a.loadNEONConsts(neonSigmoidConsts, 16)
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
	prev := a.hornerNEON(c("p0"), 5, 8, 9, []string{"p1", "p2", "p3", "p4", "p5"}, a.movFrom(c))
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

// geluNEON emits geluNEON (or, with mul, geluMulNEON): the amd64 form
// (asm.gelu) step for step on four lanes, with the same fused
// multiply-adds, so both give the same bits. R7 points at GELU's loaded
// constants; the erfc fit's and the Taylor series' coefficients stay in
// V14–V31.
func (a *asm) geluNEON(mul bool) {
	name, label, frame, args := "geluNEON", "gelun", 24, "dst, src *float32, n int"
	if mul {
		name, label, frame, args = "geluMulNEON", "gelumuln", 32, "dst, src, mul *float32, n int"
	}
	reg := func(name string) int { return constReg(neonGeluRegs, name) - 16 + 14 }
	load := func(dst int, name string) {
		for i, n := range neonGeluLoads {
			if n == name {
				a.in("FMOVQ %d(R7), F%d", 16*i, dst)
				return
			}
		}
		panic("no GELU constant " + name)
	}
	v3 := func(op string, d, n, m int) { a.in("%s", vec3(op, d, n, m)) }
	horner := func(prev, x, r0, r1 int, ks []string) int { return a.hornerNEON(prev, x, r0, r1, ks, a.movFrom(reg)) }
	a.l("\n// func %s(%s)", name, args)
	a.l("TEXT ·%s(SB), NOSPLIT, $0-%d", name, frame)
	a.in("MOVD dst+0(FP), R0")
	a.in("MOVD src+8(FP), R1")
	if mul {
		a.in("MOVD mul+16(FP), R3")
	}
	a.in("MOVD n+%d(FP), R2", frame-8)
	a.in("LSR $2, R2, R2")
	a.in("CBZ R2, %sdone", label)
	a.loadNEONConsts(neonGeluRegs, 14)
	// R7 is now at neonGeluLoads, which follow in the table.
	a.l("\n%sloop:", label)
	a.in("VLD1.P 16(R1), [V0.S4]")
	a.in("%s", vec2("fabs", 1, 0)) // |x|, clamped to 16 (NaN stays)
	load(12, "clamp16")
	v3("fmin", 1, 1, 12)
	load(12, "halfrsqrt2") // t = 1/(1 + z/2), z = |x|/√2
	v3("fmul", 2, 1, 12)
	load(12, "one")
	v3("fadd", 2, 2, 12)
	v3("fdiv", 2, 12, 2)
	p := horner(reg("c9"), 2, 3, 4, []string{"c8", "c7", "c6", "c5", "c4", "c3", "c2", "c1", "c0"}) // P(t)
	if p != 3 {
		panic("P(t) not in V3")
	}
	v3("fmul", 4, 1, 1) // x² = hi + lo exactly: V5 = hi - x² = -lo
	a.in("VMOV V4.B16, V5.B16")
	a.in("VFMLS V1.S4, V1.S4, V5.S4")
	load(12, "half")
	v3("fmul", 4, 4, 12)               // hi/2
	a.in("VFMLA V12.S4, V5.S4, V3.S4") // P(t) - lo/2
	v3("fsub", 6, 3, 4)                // exponent -z² + P(t), for n and the underflow mask
	load(12, "expmin")
	v3("fcmge", 7, 6, 12)
	load(12, "log2e")
	v3("fmul", 6, 6, 12)
	a.in("%s", vec2("frintn", 6, 6))
	a.in("VEOR V13.B16, V13.B16, V13.B16") // r = -hi/2 - n·ln2 + (P(t) - lo/2)
	v3("fsub", 8, 13, 4)
	load(12, "ln2hi")
	a.in("VFMLS V12.S4, V6.S4, V8.S4")
	load(12, "ln2lo")
	a.in("VFMLS V12.S4, V6.S4, V8.S4")
	v3("fadd", 8, 8, 3)
	load(9, "p0") // exp(r)·2ⁿ as in exp32
	if a.hornerNEON(9, 8, 10, 9, []string{"p1", "p2", "p3", "p4", "p5"}, load) != 10 {
		panic("exp polynomial not in V10")
	}
	v3("fmul", 11, 8, 8)
	a.in("VMOV V8.B16, V9.B16")
	a.in("VFMLA V11.S4, V10.S4, V9.S4")
	load(12, "one")
	v3("fadd", 9, 9, 12)
	a.in("%s", vec2("fcvtzs", 6, 6))
	load(12, "i127")
	a.in("VADD V12.S4, V6.S4, V6.S4")
	a.in("VSHL $23, V6.S4, V6.S4")
	v3("fmul", 9, 9, 6)
	a.in("VAND V7.B16, V9.B16, V9.B16")
	v3("fmul", 9, 9, 2) // E = erfc(z) = t·exp(…)
	load(10, "two")
	v3("fsub", 10, 10, 9)
	a.in("%s", vec2("cmlt", 11, 0)) // 1 + erf: E for x < 0, 2 - E otherwise
	a.in("VBSL V10.B16, V9.B16, V11.B16")
	v3("fmul", 12, 0, 0) // Taylor form for |x| < 1/√2
	q := horner(reg("q7"), 12, 5, 6, []string{"q6", "q5", "q4", "q3", "q2", "q1", "q0"})
	v3("fmul", q, q, 0)
	load(13, "one")
	v3("fadd", q, q, 13)
	load(6+5-q, "smallthr")
	v3("fcmgt", 6+5-q, 6+5-q, 1)
	a.in("VBSL V11.B16, V%d.B16, V%d.B16", q, 6+5-q)
	load(13, "half")
	v3("fmul", 0, 0, 13) // 0.5·x·(1 + erf)
	v3("fmul", 0, 0, 6+5-q)
	if mul {
		a.in("VLD1.P 16(R3), [V13.S4]") // the rounded GELU times mul, as geluMulGo
		v3("fmul", 0, 0, 13)
	}
	a.in("VST1.P [V0.S4], 16(R0)")
	a.in("SUBS $1, R2, R2")
	a.in("BNE %sloop\n", label)
	a.l("%sdone:", label)
	a.in("RET")
}
