package main

import "fmt"

// The Winograd transforms for arm64: F(4×4, 3×3)'s tile transforms four
// tiles at a time and both filter transforms four filters at a time, with
// the amd64 forms' operations (vops) in the same order, so both match the
// Go twins bit for bit.

// Registers of the NEON transforms: 4, 5 and 8 over four lanes.
const nFour, nFive, nEight = "V29", "V30", "V31"

// neonWgConsts emits the table wgn<> (4, 5, 8 over four lanes each).
func (a *asm) neonWgConsts() {
	a.l("// Constants of the NEON tile transforms: 4, 5 and 8, each over four lanes.")
	for i, v := range []float64{4, 5, 8} {
		for lane := range 4 {
			a.l("DATA wgn<>+%d(SB)/4, $0x%08x", 16*i+4*lane, f32(v))
		}
	}
	a.l("GLOBL wgn<>(SB), RODATA|NOPTR, $48\n")
}

// neonLoadWgConsts loads wgn<> into V29–V31 through R7.
func (a *asm) neonLoadWgConsts() {
	a.in("MOVD $wgn<>(SB), R7")
	a.in("VLD1 (R7), [%s.S4, %s.S4, %s.S4]", nFour, nFive, nEight)
}

// transpose4 emits the 4×4 transpose of the rows in r[0…3] into out[0…3]
// (out[j] lane i = r[i] lane j), with t[0…3] as temporaries.
func (a *asm) transpose4(r, out, t [4]int) {
	a.in("VTRN1 V%d.S4, V%d.S4, V%d.S4", r[1], r[0], t[0])
	a.in("VTRN2 V%d.S4, V%d.S4, V%d.S4", r[1], r[0], t[1])
	a.in("VTRN1 V%d.S4, V%d.S4, V%d.S4", r[3], r[2], t[2])
	a.in("VTRN2 V%d.S4, V%d.S4, V%d.S4", r[3], r[2], t[3])
	a.in("VTRN1 V%d.D2, V%d.D2, V%d.D2", t[2], t[0], out[0])
	a.in("VTRN1 V%d.D2, V%d.D2, V%d.D2", t[3], t[1], out[1])
	a.in("VTRN2 V%d.D2, V%d.D2, V%d.D2", t[2], t[0], out[2])
	a.in("VTRN2 V%d.D2, V%d.D2, V%d.D2", t[3], t[1], out[3])
}

// in4NEON emits in4 of d0…d5 in V8–V13, leaving t0…t5 in in4NEONOut
// (V18–V25 are its temporaries).
func (a *asm) in4NEON() {
	neonVops(a).in4(regs("V", 8, 9, 10, 11, 12, 13), regs("V", 18, 19, 20, 21, 22, 23, 24, 25), nFour, nFive)
}

// in4NEONOut lists the registers in4NEON leaves t0…t5 in.
var in4NEONOut = in4Regs(regs("V", 18, 19, 20, 21, 22, 23, 24, 25))

// wgIn4NEON emits wgIn4NEON.
func (a *asm) wgIn4NEON() {
	a.l(`// func wgIn4NEON(src *float32, stride int, dst *float32, vs int, tmp *float32)
//
// input4 of the four 6×6 patches at src + 4l (l = 0 … 3, rows stride
// floats apart; reads 20 floats of each row), written to dst[ξ*vs + l].
// Each row is split into its six columns over the four patches (4×4
// transposes) and transformed; the results go through tmp (36×4 floats)
// to the column transforms.
TEXT ·wgIn4NEON(SB), NOSPLIT, $0-40
	MOVD src+0(FP), R0
	MOVD stride+8(FP), R1
	LSL $2, R1, R1
	MOVD dst+16(FP), R2
	MOVD vs+24(FP), R3
	LSL $2, R3, R3
	MOVD tmp+32(FP), R4`)
	a.neonLoadWgConsts()
	for k := range 6 {
		a.in("VLD1 (R0), [V0.S4, V1.S4, V2.S4, V3.S4]")
		a.in("ADD $64, R0, R9")
		a.in("VLD1 (R9), [V4.S4]")
		// Columns 0-3 from floats 0-15, columns 4 and 5 from 4-19.
		a.transpose4([4]int{0, 1, 2, 3}, [4]int{8, 9, 10, 11}, [4]int{14, 15, 16, 17})
		a.in("VTRN1 V2.S4, V1.S4, V14.S4")
		a.in("VTRN2 V2.S4, V1.S4, V15.S4")
		a.in("VTRN1 V4.S4, V3.S4, V16.S4")
		a.in("VTRN2 V4.S4, V3.S4, V17.S4")
		a.in("VTRN1 V16.D2, V14.D2, V12.D2")
		a.in("VTRN1 V17.D2, V15.D2, V13.D2")
		a.in4NEON()
		for j, r := range in4NEONOut {
			a.in("FMOVQ F%d, %d(R4)", vreg(r), 16*(6*k+j))
		}
		if k < 5 {
			a.in("ADD R1, R0, R0")
		}
	}
	// Columns: dst + (6i+j)*vs for i = 0 … 5, j fixed; R9 walks i, R10 = 6*vs.
	a.in("LSL $1, R3, R10")
	a.in("ADD R3<<2, R10, R10")
	for j := range 6 {
		for k := range 6 {
			a.in("FMOVQ %d(R4), F%d", 16*(6*k+j), 8+k)
		}
		a.in4NEON()
		a.in("MOVD R2, R9")
		for i, r := range in4NEONOut {
			if i > 0 {
				a.in("ADD R10, R9, R9")
			}
			a.in("VST1 [%s.S4], (R9)", r)
		}
		if j < 5 {
			a.in("ADD R3, R2, R2")
		}
	}
	a.in("RET\n")
}

// out4NEON emits out4 of m0…m5 in V8–V13, leaving y0…y3 in V22–V25
// (V18–V21 are its other temporaries).
func (a *asm) out4NEON() {
	neonVops(a).out4(regs("V", 8, 9, 10, 11, 12, 13), regs("V", 18, 19, 20, 21, 22, 23, 24, 25), nFour, nEight)
}

// wgOut4NEON emits wgOut4NEON.
func (a *asm) wgOut4NEON() {
	a.l(`// func wgOut4NEON(src *float32, ms int, dst *float32, w int, b float32, res, tmp *float32)
//
// output4 of four tiles side by side, M_ξ of tile l being src[ξ*ms + l],
// plus b and (if res is not nil) res, written as four rows of 16 floats
// w apart at dst (res likewise). The column transforms go through tmp
// (24×4 floats); each row's four vectors are transposed into pixels.
TEXT ·wgOut4NEON(SB), NOSPLIT, $0-56
	MOVD src+0(FP), R0
	MOVD ms+8(FP), R1
	LSL $2, R1, R1
	MOVD dst+16(FP), R2
	MOVD w+24(FP), R3
	LSL $2, R3, R3
	MOVWU b+32(FP), R8
	VDUP R8, V28.S4
	MOVD res+40(FP), R5
	MOVD tmp+48(FP), R4
	LSL $1, R1, R10
	ADD R1<<2, R10, R10`)
	a.neonLoadWgConsts()
	// Columns: M_(6k+j) for k = 0 … 5 at src + (6k+j)*ms.
	for j := range 6 {
		a.in("MOVD R0, R9")
		for k := range 6 {
			if k > 0 {
				a.in("ADD R10, R9, R9")
			}
			a.in("VLD1 (R9), [V%d.S4]", 8+k)
		}
		a.out4NEON()
		for i := range 4 {
			a.in("FMOVQ F%d, %d(R4)", 22+i, 16*(6*i+j))
		}
		if j < 5 {
			a.in("ADD R1, R0, R0")
		}
	}
	for i := range 4 {
		for j := range 6 {
			a.in("FMOVQ %d(R4), F%d", 16*(6*i+j), 8+j)
		}
		a.out4NEON()
		for r := 22; r < 26; r++ {
			a.in("%s", vec3("fadd", r, r, 28))
		}
		a.transpose4([4]int{22, 23, 24, 25}, [4]int{0, 1, 2, 3}, [4]int{14, 15, 16, 17})
		a.in("CBZ R5, wgn4store%d", i)
		a.in("VLD1 (R5), [V4.S4, V5.S4, V6.S4, V7.S4]")
		for r := range 4 {
			a.in("%s", vec3("fadd", r, r, 4+r))
		}
		a.in("ADD R3, R5, R5")
		a.l("wgn4store%d:", i)
		a.in("VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R2)")
		if i < 3 {
			a.in("ADD R3, R2, R2")
		}
	}
	a.in("RET\n")
}

// neonFilterConsts are the constants of the NEON filter transforms (values
// from wgConsts), in V16 onwards in this order.
var neonFilterConsts = []string{"quarter", "negsixth", "twentyfourth", "sixth", "twelfth", "half"}

// wgFilterNEON emits wgFilter<m>NEON, the filter transform of F(m×m, 3×3)
// (filter2, filter4) four filters at a time: the amd64 form's operations
// (asm.wgFilter) in the same order, so the Go twins' bits. For kk = 0 …
// kb-1 and lanes l = 0 … mr-1 (mr a multiple of 4), the filter whose tap
// t is at taps[(9kk+t)*tw + l] goes to dst[ξ*us + kk*mr + l].
func (a *asm) wgFilterNEON(m int) {
	a.l(`// func wgFilter%dNEON(taps, dst *float32, us, mr, kb, tw int)
TEXT ·wgFilter%dNEON(SB), NOSPLIT, $0-48
	MOVD taps+0(FP), R0
	MOVD dst+8(FP), R1
	MOVD us+16(FP), R2
	LSL $2, R2, R2
	MOVD mr+24(FP), R3
	MOVD kb+32(FP), R4
	CBZ R4, wgfn%ddone
	MOVD tw+40(FP), R5
	LSL $2, R5, R5
	LSL $3, R5, R12
	ADD R5, R12, R12
	LSL $2, R3, R13
	MOVD $wgfn<>(SB), R7
	VLD1.P 64(R7), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1 (R7), [V20.S4, V21.S4]

wgfn%dkk:
	MOVD R0, R6
	MOVD R1, R8
	MOVD R3, R10

wgfn%dq:
	MOVD R6, R9`, m, m, m, m, m)
	for t := range 9 {
		a.in("VLD1 (R9), [V%d.S4]", t)
		if t < 8 {
			a.in("ADD R5, R9, R9")
		}
	}
	// V0–V8 hold tap 3r+j in register 3r+j; R11 walks ξ.
	a.in("MOVD R8, R11")
	first := true
	store := func(r string) {
		if !first {
			a.in("ADD R2, R11, R11")
		}
		first = false
		a.in("VST1 [%s.S4], (R11)", r)
	}
	c := func(name string) string {
		for i, n := range neonFilterConsts {
			if n == name {
				return fmt.Sprintf("V%d", 16+i)
			}
		}
		panic("no filter constant " + name)
	}
	neonVops(a).filterBody(m, "V", c, store)
	a.l(`	ADD $16, R6, R6
	ADD $16, R8, R8
	SUBS $4, R10, R10
	BNE wgfn%dq
	ADD R12, R0, R0
	ADD R13, R1, R1
	SUBS $1, R4, R4
	BNE wgfn%dkk

wgfn%ddone:
	RET
`, m, m, m)
	if m == 4 {
		return
	}
	// The constants, once (after the first of the two functions).
	a.l("// Constants of the NEON filter transforms: 1/4, -1/6, 1/24, 1/6, 1/12, 1/2, each over four lanes.")
	for i, name := range neonFilterConsts {
		bits := uint32(0)
		for _, k := range wgConsts {
			if k.name == name {
				bits = k.bits
			}
		}
		for lane := range 4 {
			a.l("DATA wgfn<>+%d(SB)/4, $0x%08x", 16*i+4*lane, bits)
		}
	}
	a.l("GLOBL wgfn<>(SB), RODATA|NOPTR, $%d\n", 16*len(neonFilterConsts))
}

// neonVops emits the vops of NEON registers named "V<n>".
func neonVops(a *asm) vops {
	op := func(name string) func(d, x, y string) {
		return func(d, x, y string) { a.in("%s", vec3(name, vreg(d), vreg(x), vreg(y))) }
	}
	return vops{add: op("fadd"), sub: op("fsub"), mul: op("fmul")}
}

// vreg is the number of NEON register name ("V<n>").
func vreg(name string) int {
	var n int
	if _, err := fmt.Sscanf(name, "V%d", &n); err != nil {
		panic("not a NEON register: " + name)
	}
	return n
}
