package main

import "fmt"

// wgFile is winograd_amd64.s: the F(4×4, 3×3) tile transforms over eight
// tiles at a time (see in4, out4 and wgInputRun4, wgOutputRun4 in package
// kernels).
func wgFile() string {
	a := header("// Constants of the transforms (wgConsts), each over eight lanes.", "wgc", wgConsts)
	a.wgIn4()
	a.wgOut4()
	a.wgFilter(2)
	a.wgFilter(4)
	a.prefetchRows()
	return a.b.String()
}

// prefetchRows emits prefetchRowsAsm: a PREFETCHT0 for each 64-byte line
// that rows rows of n ≥ 1 floats, stride floats apart, touch.
func (a *asm) prefetchRows() {
	a.l(`// func prefetchRowsAsm(p *float32, stride, rows, n int)
TEXT ·prefetchRowsAsm(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ stride+8(FP), R8
	SHLQ $2, R8
	MOVQ rows+16(FP), CX
	MOVQ n+24(FP), DX
	LEAQ -4(SI)(DX*4), DX
	SUBQ SI, DX
	TESTQ CX, CX
	JZ pfdone

pfrow:
	MOVQ SI, DI
	ANDQ $-64, DI
	LEAQ (SI)(DX*1), BX

pfline:
	PREFETCHT0 (DI)
	ADDQ $64, DI
	CMPQ DI, BX
	JLE pfline
	ADDQ R8, SI
	DECQ CX
	JNZ pfrow

pfdone:
	RET
`)
}

// avx is the vops of AVX registers and operands.
func (a *asm) avx() vops {
	op := func(name string) func(d, x, y string) {
		return func(d, x, y string) { a.in("%s %s, %s, %s", name, y, x, d) }
	}
	return vops{add: op("VADDPS"), sub: op("VSUBPS"), mul: op("VMULPS")}
}

// regs names registers prefix<n> for each n.
func regs(prefix string, ns ...int) []string {
	var r []string
	for _, n := range ns {
		r = append(r, fmt.Sprintf("%s%d", prefix, n))
	}
	return r
}

// in4 emits in4 of d0…d5 in Y8–Y13 (4 in Y14, 5 in Y15), leaving
// t0…t5 in in4Out (Y0–Y7 are its temporaries) and Y8–Y13 intact.
func (a *asm) in4() {
	a.avx().in4(regs("Y", 8, 9, 10, 11, 12, 13), regs("Y", 0, 1, 2, 3, 4, 5, 6, 7), "Y14", "Y15")
}

// in4Out lists the registers in4 leaves t0…t5 in.
var in4Out = in4Regs(regs("Y", 0, 1, 2, 3, 4, 5, 6, 7))

// wgIn4 emits wgIn4AVX2.
func (a *asm) wgIn4() {
	a.l(`// func wgIn4AVX2(src *float32, stride int, dst *float32, vs int, tmp *float32)
//
// input4 of the eight 6×6 patches at src + 4l (l = 0 … 7, rows stride
// floats apart; reads 36 floats of each row), written to dst[ξ*vs + l].
// Each row is split into its six columns over the eight patches and
// transformed; the results go through tmp (36×8 floats) to the column
// transforms.
TEXT ·wgIn4AVX2(SB), NOSPLIT, $0-40
	MOVQ src+0(FP), SI
	MOVQ stride+8(FP), BX
	SHLQ $2, BX
	MOVQ dst+16(FP), DI
	MOVQ vs+24(FP), DX
	SHLQ $2, DX
	MOVQ tmp+32(FP), R8
	VMOVUPS wgc<>+0(SB), Y14
	VMOVUPS wgc<>+32(SB), Y15`)
	for k := range 6 {
		// P, Q, R, S: patches (0|4), (1|5), (2|6), (3|7) of columns 0-3;
		// T: columns 4-7 of patches 3 and 7.
		for i, r := range []string{"0", "1", "2", "3", "4"} {
			a.in("VMOVUPS %s, X%s", mem(16*i, "SI"), r)
			a.in("VINSERTF128 $1, %s, Y%s, Y%s", mem(64+16*i, "SI"), r, r)
		}
		a.in("VUNPCKLPS Y1, Y0, Y5")
		a.in("VUNPCKLPS Y3, Y2, Y6")
		a.in("VUNPCKLPD Y6, Y5, Y8") // column 0
		a.in("VUNPCKHPD Y6, Y5, Y9") // column 1
		a.in("VUNPCKHPS Y1, Y0, Y5")
		a.in("VUNPCKHPS Y3, Y2, Y6")
		a.in("VUNPCKLPD Y6, Y5, Y10") // column 2
		a.in("VUNPCKHPD Y6, Y5, Y11") // column 3
		a.in("VUNPCKLPS Y2, Y1, Y5")
		a.in("VUNPCKLPS Y4, Y3, Y6")
		a.in("VUNPCKLPD Y6, Y5, Y12") // column 4
		a.in("VUNPCKHPD Y6, Y5, Y13") // column 5
		a.in4()
		for j, r := range in4Out {
			a.in("VMOVUPS %s, %s", r, mem(32*(6*k+j), "R8"))
		}
		if k < 5 {
			a.in("ADDQ BX, SI")
		}
	}
	// Columns: dst + (6i+j)*vs for i = 0 … 5, j fixed; R9 = dst + 6j*vs
	// walks i, R10 = 6*vs.
	a.in("LEAQ (DX)(DX*2), R10")
	a.in("SHLQ $1, R10")
	for j := range 6 {
		for k := range 6 {
			a.in("VMOVUPS %s, Y%d", mem(32*(6*k+j), "R8"), 8+k)
		}
		a.in4()
		a.in("MOVQ DI, R9")
		for i, r := range in4Out {
			if i > 0 {
				a.in("ADDQ R10, R9")
			}
			a.in("VMOVUPS %s, (R9)", r)
		}
		if j < 5 {
			a.in("ADDQ DX, DI")
		}
	}
	a.in("VZEROUPPER")
	a.in("RET\n")
}

// out4 emits out4 of m0…m5 in Y8–Y13 (4 in Y14, 8 in Y15), leaving
// y0…y3 in Y4–Y7.
func (a *asm) out4() {
	a.avx().out4(regs("Y", 8, 9, 10, 11, 12, 13), regs("Y", 0, 1, 2, 3, 4, 5, 6, 7), "Y14", "Y15")
}

// wgOut4 emits wgOut4AVX2.
func (a *asm) wgOut4() {
	a.l(`// func wgOut4AVX2(src *float32, ms int, dst *float32, w int, b float32, res, tmp *float32)
//
// output4 of eight tiles side by side, M_ξ of tile l being src[ξ*ms + l],
// plus b and (if res is not nil) res, written as four rows of 32 floats
// w apart at dst (res likewise). The column transforms go through tmp
// (24×8 floats); each row's four vectors are interleaved into pixels.
TEXT ·wgOut4AVX2(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ ms+8(FP), DX
	SHLQ $2, DX
	MOVQ dst+16(FP), DI
	MOVQ w+24(FP), BX
	SHLQ $2, BX
	MOVQ res+40(FP), CX
	MOVQ tmp+48(FP), R8
	VMOVUPS wgc<>+0(SB), Y14
	VMOVUPS wgc<>+64(SB), Y15
	LEAQ (DX)(DX*2), R10
	SHLQ $1, R10`)
	// Columns: M_(6k+j) for k = 0 … 5 at src + (6k+j)*ms.
	for j := range 6 {
		a.in("MOVQ SI, R9")
		for k := range 6 {
			if k > 0 {
				a.in("ADDQ R10, R9")
			}
			a.in("VMOVUPS (R9), Y%d", 8+k)
		}
		a.out4()
		for i := range 4 {
			a.in("VMOVUPS Y%d, %s", 4+i, mem(32*(6*i+j), "R8"))
		}
		if j < 5 {
			a.in("ADDQ DX, SI")
		}
	}
	for i := range 4 {
		for j := range 6 {
			a.in("VMOVUPS %s, Y%d", mem(32*(6*i+j), "R8"), 8+j)
		}
		a.out4()
		a.in("VBROADCASTSS b+32(FP), Y8")
		for r := 4; r < 8; r++ {
			a.in("VADDPS Y8, Y%d, Y%d", r, r)
		}
		// Interleave y0…y3 (Y4–Y7) into tiles (0|4), (1|5), (2|6), (3|7),
		// then into the row's four vectors of two tiles each.
		a.in("VUNPCKLPS Y5, Y4, Y0")
		a.in("VUNPCKLPS Y7, Y6, Y1")
		a.in("VUNPCKHPS Y5, Y4, Y2")
		a.in("VUNPCKHPS Y7, Y6, Y3")
		a.in("VUNPCKLPD Y1, Y0, Y4")
		a.in("VUNPCKHPD Y1, Y0, Y5")
		a.in("VUNPCKLPD Y3, Y2, Y6")
		a.in("VUNPCKHPD Y3, Y2, Y7")
		a.in("VPERM2F128 $0x20, Y5, Y4, Y0")
		a.in("VPERM2F128 $0x20, Y7, Y6, Y1")
		a.in("VPERM2F128 $0x31, Y5, Y4, Y2")
		a.in("VPERM2F128 $0x31, Y7, Y6, Y3")
		a.in("TESTQ CX, CX")
		a.in("JZ wgout4store%d", i)
		for r := range 4 {
			a.in("VADDPS %s, Y%d, Y%d", mem(32*r, "CX"), r, r)
		}
		a.in("ADDQ BX, CX")
		a.l("wgout4store%d:", i)
		for r := range 4 {
			a.in("VMOVUPS Y%d, %s", r, mem(32*r, "DI"))
		}
		if i < 3 {
			a.in("ADDQ BX, DI")
		}
	}
	a.in("VZEROUPPER")
	a.in("RET\n")
}

// wgConsts are the transforms' constants: wgc<>+32i holds constant i.
var wgConsts = []expConst{
	{"four", f32(4)}, {"five", f32(5)}, {"eight", f32(8)}, {"half", f32(0.5)},
	{"quarter", f32(0.25)}, {"negsixth", f32(-1.0 / 6)}, {"sixth", f32(1.0 / 6)},
	{"twelfth", f32(1.0 / 12)}, {"twentyfourth", f32(1.0 / 24)},
}

// wc returns the table operand of transform constant name.
func wc(name string) string { return operand("wgc", wgConsts, name) }

// wgFilter emits wgFilter<m>AVX2, the filter transform of F(m×m, 3×3)
// (filter2, filter4) of up to eight filters at a time.
func (a *asm) wgFilter(m int) {
	a.l(`// func wgFilter%dAVX2(taps *float32, dst *float32, us, mr, kb int)
//
// For kk = 0 … kb-1, the eight filters whose taps are at taps + 72kk
// (tap t of lane l at taps[72kk + 8t + l], see winogradWeightBlock) are
// transformed into dst[ξ*us + kk*mr + l]: all eight lanes are stored, so
// for mr < 8 the lanes past mr land on the next kk's (masked stores are
// slow on AMD). Each row of G g is made from the taps and transformed and
// stored at once.
TEXT ·wgFilter%dAVX2(SB), NOSPLIT, $0-40
	MOVQ taps+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ us+16(FP), DX
	SHLQ $2, DX
	MOVQ mr+24(FP), R8
	SHLQ $2, R8
	MOVQ kb+32(FP), CX
	TESTQ CX, CX
	JZ wgfilter%ddone

wgfilter%dloop:`, m, m, m, m)
	for tap := range 9 {
		a.in("VMOVUPS %s, Y%d", mem(32*tap, "SI"), tap)
	}
	// Y0–Y8 hold tap 3r+j in register 3r+j. R9 walks ξ.
	a.in("MOVQ DI, R9")
	first := true
	store := func(r string) {
		if !first {
			a.in("ADDQ DX, R9")
		}
		first = false
		a.in("VMOVUPS %s, (R9)", r)
	}
	a.avx().filterBody(m, "Y", wc, store)
	a.l(`	ADDQ $288, SI
	ADDQ R8, DI
	DECQ CX
	JNZ wgfilter%dloop

wgfilter%ddone:
	VZEROUPPER
	RET
`, m, m)
}

// vops emits d = x op y for registers (or, as y, constant operands) by name.
type vops struct{ add, sub, mul func(d, x, y string) }

// addSub is add, or sub when !plus.
func (o vops) addSub(plus bool, d, x, y string) {
	if plus {
		o.add(d, x, y)
	} else {
		o.sub(d, x, y)
	}
}

// filterBody emits the filter transform of F(m×m, 3×3) (filter2, filter4)
// of the taps in registers reg0…reg8 (tap 3r+j in reg 3r+j), each row of
// G g made in reg9–reg11 and transformed and stored at once (reg12 and
// reg15 are scratch); c gives the operand of a constant of wgConsts. The
// amd64 and NEON forms share it, so both make the Go twins' operations in
// their order.
func (o vops) filterBody(m int, reg string, c func(string) string, store func(string)) {
	r := func(i int) string { return fmt.Sprintf("%s%d", reg, i) }
	col := func(row, j int) string { return r(3*row + j) }
	t, out := r(12), r(15)
	if m == 2 {
		// Row i of G g into reg9–reg11, then the row's four outputs.
		for i := range 4 {
			s := []string{r(9), r(10), r(11)}
			for j := range 3 {
				switch i {
				case 0:
					s[j] = col(0, j)
				case 1, 2:
					o.addSub(i == 1, s[j], col(0, j), col(1, j))
					o.add(s[j], s[j], col(2, j))
					o.mul(s[j], s[j], c("half"))
				case 3:
					s[j] = col(2, j)
				}
			}
			store(s[0])
			for _, plus := range []bool{true, false} {
				o.addSub(plus, out, s[0], s[1])
				o.add(out, out, s[2])
				o.mul(out, out, c("half"))
				store(out)
			}
			store(s[2])
		}
		return
	}
	// fil4 component i of (x0, x1, x2) into dst, scratch t.
	fil := func(i int, x0, x1, x2, dst string) string {
		switch i {
		case 0:
			o.mul(dst, x0, c("quarter"))
		case 1, 2:
			o.add(dst, x0, x2)
			o.addSub(i == 1, dst, dst, x1)
			o.mul(dst, dst, c("negsixth"))
		case 3, 4:
			o.mul(dst, x0, c("twentyfourth"))
			o.mul(t, x2, c("sixth"))
			o.add(dst, dst, t)
			o.mul(t, x1, c("twelfth"))
			o.addSub(i == 3, dst, dst, t)
		case 5:
			return x2
		}
		return dst
	}
	for i := range 6 {
		s := []string{r(9), r(10), r(11)}
		for j := range 3 {
			s[j] = fil(i, col(0, j), col(1, j), col(2, j), s[j])
		}
		for k := range 6 {
			store(fil(k, s[0], s[1], s[2], out))
		}
	}
}

// in4 emits F(4×4, 3×3)'s 1-D input transform Bᵀ d (in4 in package
// kernels, the same operations in the same order) of d[0…5], with the
// eight temporaries r, leaving t0…t5 in in4Regs(r).
func (o vops) in4(d, r []string, four, five string) {
	o.add(r[0], d[3], d[4]) // a = d3 + d4
	o.add(r[1], d[1], d[2]) // b = d1 + d2
	o.sub(r[2], d[4], d[3]) // c = d4 - d3
	o.sub(r[3], d[1], d[2]) // e = d1 - d2
	o.sub(r[4], d[4], d[2]) // f = d4 - d2
	o.sub(r[5], d[3], d[1]) // g = d3 - d1
	o.mul(r[1], r[1], four)
	o.sub(r[0], r[0], r[1]) // t1 = a - 4b
	o.mul(r[3], r[3], four)
	o.add(r[1], r[2], r[3]) // t2 = c + 4e
	o.add(r[5], r[5], r[5]) // 2g
	o.add(r[2], r[4], r[5]) // t3 = f + 2g
	o.sub(r[3], r[4], r[5]) // t4 = f - 2g
	o.mul(r[6], d[2], five)
	o.mul(r[7], d[0], four)
	o.sub(r[7], r[7], r[6])
	o.add(r[4], r[7], d[4]) // t0 = 4d0 - 5d2 + d4
	o.mul(r[6], d[3], five)
	o.mul(r[7], d[1], four)
	o.sub(r[7], r[7], r[6])
	o.add(r[5], r[7], d[5]) // t5 = 4d1 - 5d3 + d5
}

// in4Regs lists where vops.in4 with temporaries r leaves t0…t5.
func in4Regs(r []string) []string { return []string{r[4], r[0], r[1], r[2], r[3], r[5]} }

// out4 emits F(4×4, 3×3)'s 1-D output transform Aᵀ m (out4 in package
// kernels, the same operations in the same order) of m[0…5], with the
// eight temporaries r, leaving y0…y3 in r[4…7].
func (o vops) out4(m, r []string, four, eight string) {
	o.add(r[0], m[1], m[2]) // a = m1 + m2
	o.add(r[1], m[3], m[4]) // b = m3 + m4
	o.sub(r[2], m[1], m[2]) // c = m1 - m2
	o.sub(r[3], m[3], m[4]) // e = m3 - m4
	o.add(r[4], m[0], r[0])
	o.add(r[4], r[4], r[1]) // y0 = m0 + a + b
	o.add(r[5], r[3], r[3])
	o.add(r[5], r[2], r[5]) // y1 = c + 2e
	o.mul(r[6], r[1], four)
	o.add(r[6], r[0], r[6]) // y2 = a + 4b
	o.mul(r[7], r[3], eight)
	o.add(r[7], r[2], r[7])
	o.add(r[7], r[7], m[5]) // y3 = c + 8e + m5
}
