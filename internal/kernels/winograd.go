package kernels

// Winograd minimal filtering F(2×2, 3×3) for 3×3, stride-1, pad-1
// convolutions (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016, section 4.1). Each 2×2 output tile of channel co is
//
//	Y = Aᵀ [ Σ_ci (G g[co,ci] Gᵀ) ⊙ (Bᵀ d[ci] B) ] A
//
// where d[ci] is the 4×4 input patch of channel ci that covers the tile and
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]
//
// The sum over ci is, for each of the 16 positions ξ of the 4×4 transformed
// tile, a matrix product U_ξ [Cout, Cin] · V_ξ [Cin, tiles], which runs on
// the SGEMM micro-kernel: 16 multiplies per 4 outputs and input channel
// instead of 36. Every transform coefficient is 0, ±1 or ±½, so the
// transforms round no more than a few additions do.

const (
	wgT     = 16  // positions of a transformed 4×4 tile
	wgTiles = 128 // most output tiles per task; a multiple of every nr
	wgSkew  = 16  // floats of padding between the blocks of the 16 positions
	wgRows  = 48  // output channels whose products are kept for one inverse transform (rounded up to mr)

	wgFewTiles    = 512 // at most this many tiles go through winogradFew (640 channels at 32×32, 2 images: 1.4x faster than tile blocks)
	wgFewChannels = 32  // input channels per input-transform task in winogradFew
)

// winogradProfitable reports whether Conv2D runs p with Winograd: a 3×3,
// stride-1, pad-1 convolution with enough tiles for the per-call weight
// transform to pay off and enough channels to fill the micro-kernel.
func winogradProfitable(p Conv2DParams) bool {
	if p.KH != 3 || p.KW != 3 || p.Stride != 1 || p.Pad != 1 {
		return false
	}
	// Tiles per image, not per call: the choice must not depend on the
	// batch size, or an image denoised in a batch would differ in its last
	// bits from the same image alone (roentgen batch relies on equality).
	tiles := ((p.H + 1) / 2) * ((p.W + 1) / 2)
	return tiles >= wgMinTiles && p.Cin >= wgMinChannels && p.Cout >= wgMinChannels
}

// Thresholds of winogradProfitable, from BenchmarkConv3x3Direct and
// BenchmarkConv3x3Winograd (2 threads, AVX2, 2026-11-27): with 1280
// channels Winograd is 1.6x faster at 8×8 with 2 images (the guided U-Net's
// lowest level at 512 px) but 0.65x at 8×8 with one image and slower at 4×4
// (each weight panel meets one or two tile panels, so the products run at
// matrix-vector speed); with 4 input channels (conv_in) the transforms cost
// more than they save. The tile count is per image (see above), so 8×8
// latents (16 tiles) take Winograd and 4×4 ones do not.
const (
	wgMinTiles    = 16
	wgMinChannels = 32
)

// conv3x3Winograd is conv2D for KH = KW = 3, Stride = 1, Pad = 1 by
// F(2×2, 3×3). The weights are transformed and packed as micro-kernel A
// panels once per call; each task then owns a block of wgTiles output
// tiles, transforms its input tiles into packed B panels, runs the 16
// products into scratch and inverse-transforms them, adding bias and
// residual. Calls with at most wgFewTiles tiles go to winogradFew. The
// depth blocking depends on Cin and the micro-kernel only, so the result
// does not depend on the number of threads.
func conv3x3Winograd(mk *microKernel, out, x []float32, w Weights, bias, residual []float32, p Conv2DParams) {
	mr, nr := mk.mr, mk.nr
	nt := p.N * ((p.H + 1) / 2) * ((p.W + 1) / 2)
	kc := kcFor(p.Cin, mk.kc)
	if nt <= wgFewTiles {
		winogradFew(mk, out, x, w, bias, residual, p, nt)
		return
	}
	mpad := ceilDiv(p.Cout, mr) * mr
	us := mpad*p.Cin + wgSkew
	ub := getBuf(wgT * us)
	defer putBuf(ub)
	u := *ub
	winogradWeights(u, w, p.Cin, p.Cout, mpad, kc, mr, us)

	nb := wgTiles
	parallelFor(ceilDiv(nt, nb), func(t int) {
		t0 := t * nb
		// The 16 blocks sit a cache line further apart than their size,
		// so that the transforms' 16 streams do not share cache sets.
		cr := ceilDiv(wgRows, mr) * mr
		vs, ms := p.Cin*nb+wgSkew, cr*nb+wgSkew
		vb, mb := getBuf(wgT*vs), getBuf(wgT*ms)
		defer putBuf(vb)
		defer putBuf(mb)
		v, m := *vb, *mb
		winogradInput(v, x, p, t0, 0, nb, nb, nt, kc, nr, vs, 0, p.Cin)
		// cr output channels at a time, so that their 16 products are
		// still in cache for the inverse transform.
		for r0 := 0; r0 < mpad; r0 += cr {
			r1 := min(r0+cr, mpad)
			winogradProducts(mk, u, v, m, us, vs, ms, mpad, r0, r1, p.Cin, kc, nb)
			winogradOutput(out, m, bias, residual, p, t0, min(nb, nt-t0), nb, r0, min(r1, p.Cout), ms)
		}
	})
}

// winogradFew is conv3x3Winograd for a few tiles (low resolutions with many
// channels), where a per-call transform of every weight would cost as much
// as the products: all input tiles are transformed first, split over
// channels, and then each task owns a block of output channels, transforms
// only their weights and runs their products over all tiles. The depth
// blocking is the same as conv3x3Winograd's, and so are the results.
func winogradFew(mk *microKernel, out, x []float32, w Weights, bias, residual []float32, p Conv2DParams, nt int) {
	mr, nr := mk.mr, mk.nr
	kc := kcFor(p.Cin, mk.kc)
	nb := ceilDiv(nt, nr) * nr
	vs := p.Cin*nb + wgSkew
	vb := getBuf(wgT * vs)
	defer putBuf(vb)
	v := *vb
	lb, cc := ceilDiv(nb, wgTiles), ceilDiv(p.Cin, wgFewChannels)
	parallelFor(lb*cc, func(t int) {
		l0, ci0 := (t/cc)*wgTiles, (t%cc)*wgFewChannels
		winogradInput(v, x, p, 0, l0, min(wgTiles, nb-l0), nb, nt, kc, nr, vs, ci0, min(ci0+wgFewChannels, p.Cin))
	})
	cr := ceilDiv(wgRows, mr) * mr
	mpad := ceilDiv(p.Cout, mr) * mr
	parallelFor(ceilDiv(mpad, cr), func(t int) {
		r0 := t * cr
		rows := min(cr, mpad-r0)
		us, ms := rows*p.Cin+wgSkew, rows*nb+wgSkew
		ub, mb := getBuf(wgT*us), getBuf(wgT*ms)
		defer putBuf(ub)
		defer putBuf(mb)
		u, m := *ub, *mb
		for pn := range rows / mr {
			winogradWeightPanel(u, w, p.Cin, p.Cout, rows, kc, mr, us, r0/mr+pn, pn)
		}
		winogradProducts(mk, u, v, m, us, vs, ms, rows, 0, rows, p.Cin, kc, nb)
		winogradOutput(out, m, bias, residual, p, 0, nt, nb, r0, min(r0+rows, p.Cout), ms)
	})
}

// winogradWeights writes U_ξ = (G g Gᵀ)_ξ for every output channel co and
// input channel ci as micro-kernel A panels: position ξ's block starts at
// ξ*us, depth block p0 (of kb ≤ kc channels) at p0*mpad within it, and
// holds mpad/mr panels of kb×mr values; rows past cout are zero.
func winogradWeights(u []float32, w Weights, cin, cout, mpad, kc, mr, us int) {
	parallelFor(mpad/mr, func(panel int) {
		winogradWeightPanel(u, w, cin, cout, mpad, kc, mr, us, panel, panel)
	})
}

// winogradWeightPanel writes panel (output channels panel*mr …) of the
// transformed weights as panel number at of a block of mpad rows, laid out
// as in winogradWeights.
func winogradWeightPanel(u []float32, w Weights, cin, cout, mpad, kc, mr, us, panel, at int) {
	// g holds the panel's mr filter rows, zero past cout.
	gb := getBuf(mr * cin * 9)
	defer putBuf(gb)
	g := *gb
	for l := range mr {
		gl := g[l*cin*9 : (l+1)*cin*9]
		switch co := panel*mr + l; {
		case co >= cout:
			clear(gl)
		case w.F16 != nil:
			f16ToF32(gl, w.F16[co*cin*9:])
		default:
			copy(gl, w.F32[co*cin*9:])
		}
	}
	for p0 := 0; p0 < cin; p0 += kc {
		kb := min(kc, cin-p0)
		dst := u[p0*mpad+at*kb*mr:]
		for kk := range kb {
			for l := range mr {
				f := (*[9]float32)(g[(l*cin+p0+kk)*9:])
				winogradFilter(f, dst[kk*mr+l:], us)
			}
		}
	}
}

// winogradFilter writes (G g Gᵀ)_ξ, ξ = 4i+j, for a 3×3 filter g to
// dst[ξ*us].
func winogradFilter(g *[9]float32, dst []float32, us int) {
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

// winogradInput writes V_ξ = (Bᵀ d B)_ξ for channels [ci0, ci1) and lanes
// [l0, l0+nl) of a block of nb lanes, lane l being tile t0+l (tiles
// numbered over images, rows and columns; those at or past nt are zero), as
// micro-kernel B panels: position ξ's block starts at ξ*vs, depth block p0
// at p0*nb, and holds nb/nr panels of kb×nr values. l0 is a multiple of nr
// and nl at most wgTiles.
func winogradInput(v, x []float32, p Conv2DParams, t0, l0, nl, nb, nt, kc, nr, vs, ci0, ci1 int) {
	h, w, hw := p.H, p.W, p.H*p.W
	tx := (w + 1) / 2
	tpi := ((h + 1) / 2) * tx
	// base[l] is the offset in x of the top-left corner of lane l0+l's 4×4
	// patch in channel 0; edge[l] says whether the patch leaves the image.
	var baseBuf [wgTiles]int
	var edgeBuf [wgTiles]bool
	var yBuf, xBuf [wgTiles]int
	valid := min(nl, nt-t0-l0)
	for l := range valid {
		t := t0 + l0 + l
		n, r := t/tpi, t%tpi
		y0, x0 := 2*(r/tx)-1, 2*(r%tx)-1
		yBuf[l], xBuf[l] = y0, x0
		edgeBuf[l] = y0 < 0 || y0+4 > h || x0 < 0 || x0+4 > w
		baseBuf[l] = n*p.Cin*hw + y0*w + x0
	}
	var pad [wgT]float32
	for ci := ci0; ci < ci1; ci++ {
		p0 := ci / kc * kc
		kb, kk := min(kc, p.Cin-p0), ci-p0
		coff := ci * hw
		blk := v[p0*nb+kk*nr:]
		for jp := 0; jp < nl; jp += nr {
			// v0 … v15: lanes l0+jp … l0+jp+nr-1 of positions 0 … 15.
			pb := blk[(l0+jp)*kb:]
			v0, v1, v2, v3 := pb[:nr], pb[vs:][:nr], pb[2*vs:][:nr], pb[3*vs:][:nr]
			v4, v5, v6, v7 := pb[4*vs:][:nr], pb[5*vs:][:nr], pb[6*vs:][:nr], pb[7*vs:][:nr]
			v8, v9, v10, v11 := pb[8*vs:][:nr], pb[9*vs:][:nr], pb[10*vs:][:nr], pb[11*vs:][:nr]
			v12, v13, v14, v15 := pb[12*vs:][:nr], pb[13*vs:][:nr], pb[14*vs:][:nr], pb[15*vs:][:nr]
			for ln := range nr {
				l := jp + ln
				var r0, r1, r2, r3 []float32
				switch {
				case l >= valid:
					clear(pad[:])
					r0, r1, r2, r3 = pad[0:4], pad[4:8], pad[8:12], pad[12:16]
				case !edgeBuf[l]:
					b := baseBuf[l] + coff
					r0, r1, r2, r3 = x[b:b+4], x[b+w:b+w+4], x[b+2*w:b+2*w+4], x[b+3*w:b+3*w+4]
				default:
					y0, x0 := yBuf[l], xBuf[l]
					clear(pad[:])
					for i := range 4 {
						if y := y0 + i; y >= 0 && y < h {
							for j := range 4 {
								if xx := x0 + j; xx >= 0 && xx < w {
									pad[4*i+j] = x[baseBuf[l]+coff+i*w+j]
								}
							}
						}
					}
					r0, r1, r2, r3 = pad[0:4], pad[4:8], pad[8:12], pad[12:16]
				}
				r0, r1, r2, r3 = r0[:4], r1[:4], r2[:4], r3[:4]
				// Bᵀ d, one column at a time.
				s00, s10, s20, s30 := r0[0]-r2[0], r1[0]+r2[0], r2[0]-r1[0], r1[0]-r3[0]
				s01, s11, s21, s31 := r0[1]-r2[1], r1[1]+r2[1], r2[1]-r1[1], r1[1]-r3[1]
				s02, s12, s22, s32 := r0[2]-r2[2], r1[2]+r2[2], r2[2]-r1[2], r1[2]-r3[2]
				s03, s13, s23, s33 := r0[3]-r2[3], r1[3]+r2[3], r2[3]-r1[3], r1[3]-r3[3]
				// (Bᵀ d) B, one row at a time, into position 4i+j.
				v0[ln], v1[ln], v2[ln], v3[ln] = s00-s02, s01+s02, s02-s01, s01-s03
				v4[ln], v5[ln], v6[ln], v7[ln] = s10-s12, s11+s12, s12-s11, s11-s13
				v8[ln], v9[ln], v10[ln], v11[ln] = s20-s22, s21+s22, s22-s21, s21-s23
				v12[ln], v13[ln], v14[ln], v15[ln] = s30-s32, s31+s32, s32-s31, s31-s33
			}
		}
	}
}

// winogradOutput writes Y = Aᵀ M A (+ bias, + residual) for output channels
// [c0, c1) and the valid tiles from t0. m holds, for position ξ, a
// rows×nb block starting at ξ*ms whose row co-c0 is channel co.
func winogradOutput(out, m, bias, residual []float32, p Conv2DParams, t0, valid, nb, c0, c1, ms int) {
	h, w := p.H, p.W
	tx := (w + 1) / 2
	tpi := ((h + 1) / 2) * tx
	for co := c0; co < c1; co++ {
		// m0 … m15: the valid tiles of positions 0 … 15.
		mrow := m[(co-c0)*nb:]
		m0, m1, m2, m3 := mrow[:valid], mrow[ms:][:valid], mrow[2*ms:][:valid], mrow[3*ms:][:valid]
		m4, m5, m6, m7 := mrow[4*ms:][:valid], mrow[5*ms:][:valid], mrow[6*ms:][:valid], mrow[7*ms:][:valid]
		m8, m9, m10, m11 := mrow[8*ms:][:valid], mrow[9*ms:][:valid], mrow[10*ms:][:valid], mrow[11*ms:][:valid]
		m12, m13, m14, m15 := mrow[12*ms:][:valid], mrow[13*ms:][:valid], mrow[14*ms:][:valid], mrow[15*ms:][:valid]
		var b float32
		if bias != nil {
			b = bias[co]
		}
		t := t0
		n, rr := t/tpi, t%tpi
		oy, ox := 2*(rr/tx), 2*(rr%tx)
		for l := range valid {
			q0, q1, q2, q3 := m0[l], m1[l], m2[l], m3[l]
			q4, q5, q6, q7 := m4[l], m5[l], m6[l], m7[l]
			q8, q9, q10, q11 := m8[l], m9[l], m10[l], m11[l]
			q12, q13, q14, q15 := m12[l], m13[l], m14[l], m15[l]
			// Aᵀ M: 2 rows of 4.
			r0, r1, r2, r3 := q0+q4+q8, q1+q5+q9, q2+q6+q10, q3+q7+q11
			r4, r5, r6, r7 := q4-q8-q12, q5-q9-q13, q6-q10-q14, q7-q11-q15
			y0, y1 := r0+r1+r2, r1-r2-r3
			y2, y3 := r4+r5+r6, r5-r6-r7
			if bias != nil {
				y0, y1, y2, y3 = y0+b, y1+b, y2+b, y3+b
			}
			base := ((n*p.Cout+co)*h+oy)*w + ox
			if oy+1 < h && ox+1 < w {
				o0, o1 := out[base:base+2], out[base+w:base+w+2]
				if residual != nil {
					s0, s1 := residual[base:base+2], residual[base+w:base+w+2]
					y0, y1, y2, y3 = y0+s0[0], y1+s0[1], y2+s1[0], y3+s1[1]
				}
				o0[0], o0[1], o1[0], o1[1] = y0, y1, y2, y3
			} else {
				y := [4]float32{y0, y1, y2, y3}
				for i := range min(2, h-oy) {
					for j := range min(2, w-ox) {
						o := base + i*w + j
						val := y[2*i+j]
						if residual != nil {
							val += residual[o]
						}
						out[o] = val
					}
				}
			}
			if ox += 2; ox >= w {
				ox = 0
				if oy += 2; oy >= h {
					oy = 0
					n++
				}
			}
		}
	}
}

// winogradProducts runs, for each of the 16 tile positions ξ, the product
// M_ξ[r0:r1] = U_ξ[r0:r1] · V_ξ over the input channels in kc-deep blocks
// (U's packed panels hold aRows rows per depth block; M's rows count from
// r0). A B panel stays in L1 while the A panels stream. Both Winograd
// drivers call it, so they round identically.
func winogradProducts(mk *microKernel, u, v, m []float32, us, vs, ms, aRows, r0, r1, cin, kc, nb int) {
	mr, nr := mk.mr, mk.nr
	for xi := range wgT {
		a, b, c := u[xi*us:], v[xi*vs:], m[xi*ms:]
		for p0 := 0; p0 < cin; p0 += kc {
			kb := min(kc, cin-p0)
			var beta float32
			if p0 > 0 {
				beta = 1
			}
			ablk, bblk := a[p0*aRows:], b[p0*nb:]
			for jc := 0; jc < nb; jc += nr {
				bp := bblk[jc*kb : (jc+nr)*kb]
				for ir := r0; ir < r1; ir += mr {
					mk.fn(kb, ablk[ir*kb:(ir+mr)*kb], bp, c[(ir-r0)*nb+jc:], nb, 1, beta)
				}
			}
		}
	}
}
