package kernels

// The tile transforms of the two Winograd algorithms. Each 2-D transform
// is its 1-D form applied to the columns of a tile and then to the rows of
// the result.

// wgAlgo is one Winograd algorithm F(m×m, 3×3): m×m output tiles from
// (m+2)×(m+2) input patches, through t = (m+2)² products per input and
// output channel instead of 9m².
type wgAlgo struct {
	name string
	m, t int
	// tiles is the number of output tiles per task of conv3x3Winograd (a
	// multiple of every nr), few the most tiles per call that go through
	// winogradFew instead.
	tiles, few int
	// filter writes (G g Gᵀ)_ξ to dst[ξ*us].
	filter func(g *[9]float32, dst []float32, us int)
	// input writes (Bᵀ d B)_ξ to dst[ξ*vs], d[i][j] being src[i*stride+j].
	input func(src []float32, stride int, dst []float32, vs int)
	// output writes (Aᵀ M A)[i][j] to y[i*m+j], M_ξ being src[ξ*ms].
	output func(src []float32, ms int, y *[16]float32)
	// filterTaps writes the transformed filters of kb depths of a panel of
	// mr output channels, given tap-major (wgFilterTapsGo, or a vector form
	// with the same bits).
	filterTaps func(a *wgAlgo, taps []float32, tw, kb, mr int, dst []float32, us int)
	// inputRun and outputRun apply input and output to runs of tiles in
	// one tile row (wgInputRunGo, wgOutputRunGo, or vector forms with the
	// same bits).
	inputRun  func(a *wgAlgo, strip []float32, stride int, dst []float32, vs, run int)
	outputRun func(a *wgAlgo, src []float32, ms int, o []float32, w int, b float32, res []float32, run int, y *[16]float32)
}

// wg2 is F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016, section 4.1):
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]
//
// Every coefficient is 0, ±1 or ±½, so it rounds no more than a few
// additions do; 16 multiplies per 4 outputs instead of 36.
var wg2 = &wgAlgo{name: "F(2x2,3x3)", m: 2, t: 16, tiles: 128, few: 512,
	filter: filter2, input: input2, output: output2, filterTaps: wgFilterTapsGo, inputRun: wgInputRunGo, outputRun: wgOutputRunGo}

// wg4 is F(4×4, 3×3) (same paper, section 4.2, interpolation points 0, ±1,
// ±2 and ∞):
//
//	Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
//	      0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//	G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
//	Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
//
// 36 multiplies per 16 outputs instead of 144, at the price of larger
// coefficients and so a few times F(2×2, 3×3)'s rounding error.
var wg4 = &wgAlgo{name: "F(4x4,3x3)", m: 4, t: 36, tiles: 64, few: 256,
	filter: filter4, input: input4, output: output4, filterTaps: wgFilterTapsGo, inputRun: wgInputRunGo, outputRun: wgOutputRunGo}

func filter2(g *[9]float32, dst []float32, us int) {
	// G g, one column at a time.
	s00, s10, s20, s30 := g[0], 0.5*(g[0]+g[3]+g[6]), 0.5*(g[0]-g[3]+g[6]), g[6]
	s01, s11, s21, s31 := g[1], 0.5*(g[1]+g[4]+g[7]), 0.5*(g[1]-g[4]+g[7]), g[7]
	s02, s12, s22, s32 := g[2], 0.5*(g[2]+g[5]+g[8]), 0.5*(g[2]-g[5]+g[8]), g[8]
	_ = dst[15*us]
	dst[0], dst[us], dst[2*us], dst[3*us] = s00, 0.5*(s00+s01+s02), 0.5*(s00-s01+s02), s02
	dst[4*us], dst[5*us], dst[6*us], dst[7*us] = s10, 0.5*(s10+s11+s12), 0.5*(s10-s11+s12), s12
	dst[8*us], dst[9*us], dst[10*us], dst[11*us] = s20, 0.5*(s20+s21+s22), 0.5*(s20-s21+s22), s22
	dst[12*us], dst[13*us], dst[14*us], dst[15*us] = s30, 0.5*(s30+s31+s32), 0.5*(s30-s31+s32), s32
}

func input2(src []float32, stride int, dst []float32, vs int) {
	r0, r1, r2, r3 := src[:4], src[stride:][:4], src[2*stride:][:4], src[3*stride:][:4]
	// Bᵀ d, one column at a time.
	s00, s10, s20, s30 := r0[0]-r2[0], r1[0]+r2[0], r2[0]-r1[0], r1[0]-r3[0]
	s01, s11, s21, s31 := r0[1]-r2[1], r1[1]+r2[1], r2[1]-r1[1], r1[1]-r3[1]
	s02, s12, s22, s32 := r0[2]-r2[2], r1[2]+r2[2], r2[2]-r1[2], r1[2]-r3[2]
	s03, s13, s23, s33 := r0[3]-r2[3], r1[3]+r2[3], r2[3]-r1[3], r1[3]-r3[3]
	// (Bᵀ d) B, one row at a time, into position 4i+j.
	_ = dst[15*vs]
	dst[0], dst[vs], dst[2*vs], dst[3*vs] = s00-s02, s01+s02, s02-s01, s01-s03
	dst[4*vs], dst[5*vs], dst[6*vs], dst[7*vs] = s10-s12, s11+s12, s12-s11, s11-s13
	dst[8*vs], dst[9*vs], dst[10*vs], dst[11*vs] = s20-s22, s21+s22, s22-s21, s21-s23
	dst[12*vs], dst[13*vs], dst[14*vs], dst[15*vs] = s30-s32, s31+s32, s32-s31, s31-s33
}

func output2(src []float32, ms int, y *[16]float32) {
	_ = src[15*ms]
	q0, q1, q2, q3 := src[0], src[ms], src[2*ms], src[3*ms]
	q4, q5, q6, q7 := src[4*ms], src[5*ms], src[6*ms], src[7*ms]
	q8, q9, q10, q11 := src[8*ms], src[9*ms], src[10*ms], src[11*ms]
	q12, q13, q14, q15 := src[12*ms], src[13*ms], src[14*ms], src[15*ms]
	// Aᵀ M: 2 rows of 4.
	r0, r1, r2, r3 := q0+q4+q8, q1+q5+q9, q2+q6+q10, q3+q7+q11
	r4, r5, r6, r7 := q4-q8-q12, q5-q9-q13, q6-q10-q14, q7-q11-q15
	y[0], y[1] = r0+r1+r2, r1-r2-r3
	y[2], y[3] = r4+r5+r6, r5-r6-r7
}

// fil4 is F(4×4, 3×3)'s 1-D filter transform G g.
func fil4(g0, g1, g2 float32) (f0, f1, f2, f3, f4, f5 float32) {
	const sixth, twelfth, twentyfourth = 1.0 / 6, 1.0 / 12, 1.0 / 24
	e, o := g0+g2, g1
	// The conversions keep the products from being fused, as in wgFilter4AVX2.
	a, b := float32(twentyfourth*g0)+float32(sixth*g2), float32(twelfth*g1)
	return 0.25 * g0, -sixth * (e + o), -sixth * (e - o), a + b, a - b, g2
}

func filter4(g *[9]float32, dst []float32, us int) {
	var s [6][3]float32 // G g
	for j := range 3 {
		s[0][j], s[1][j], s[2][j], s[3][j], s[4][j], s[5][j] = fil4(g[j], g[3+j], g[6+j])
	}
	_ = dst[35*us]
	for i := range 6 {
		d := dst[6*i*us:]
		d[0], d[us], d[2*us], d[3*us], d[4*us], d[5*us] = fil4(s[i][0], s[i][1], s[i][2])
	}
}

// in4 is F(4×4, 3×3)'s 1-D input transform Bᵀ d. The vector form
// (wgIn4AVX2) does the same operations in the same order; the conversion
// keeps 5*d from being fused into the subtraction, and the other products
// are by powers of two, exact with or without fusion.
func in4(d0, d1, d2, d3, d4, d5 float32) (t0, t1, t2, t3, t4, t5 float32) {
	a, b := d3+d4, d1+d2
	c, e := d4-d3, d1-d2
	f, g := d4-d2, d3-d1
	return 4*d0 - float32(5*d2) + d4, a - 4*b, c + 4*e, f + 2*g, f - 2*g, 4*d1 - float32(5*d3) + d5
}

// input4 transforms the rows of d first and then the columns of the result.
func input4(src []float32, stride int, dst []float32, vs int) {
	var s [6][6]float32 // d B
	for i := range 6 {
		r := src[i*stride:][:6]
		s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5] = in4(r[0], r[1], r[2], r[3], r[4], r[5])
	}
	_ = dst[35*vs]
	for j := range 6 {
		dst[j*vs], dst[(6+j)*vs], dst[(12+j)*vs], dst[(18+j)*vs], dst[(24+j)*vs], dst[(30+j)*vs] = in4(
			s[0][j], s[1][j], s[2][j], s[3][j], s[4][j], s[5][j])
	}
}

// out4 is F(4×4, 3×3)'s 1-D output transform Aᵀ m; every product is by a
// power of two. wgOut4AVX2 does the same operations in the same order.
func out4(m0, m1, m2, m3, m4, m5 float32) (y0, y1, y2, y3 float32) {
	a, b := m1+m2, m3+m4
	c, e := m1-m2, m3-m4
	return m0 + a + b, c + 2*e, a + 4*b, c + 8*e + m5
}

// output4 transforms the columns of M first and then the rows of the result.
func output4(src []float32, ms int, y *[16]float32) {
	_ = src[35*ms]
	var s [4][6]float32 // Aᵀ M
	for j := range 6 {
		s[0][j], s[1][j], s[2][j], s[3][j] = out4(
			src[j*ms], src[(6+j)*ms], src[(12+j)*ms], src[(18+j)*ms], src[(24+j)*ms], src[(30+j)*ms])
	}
	for i := range 4 {
		r := &s[i]
		y[4*i], y[4*i+1], y[4*i+2], y[4*i+3] = out4(r[0], r[1], r[2], r[3], r[4], r[5])
	}
}
