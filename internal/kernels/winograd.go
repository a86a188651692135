package kernels

// Winograd minimal filtering for 3×3, stride-1, pad-1 convolutions (Lavin
// & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). With
// an algorithm F(m×m, 3×3) (winograd_tiles.go), each m×m output tile of
// channel co is
//
//	Y = Aᵀ [ Σ_ci (G g[co,ci] Gᵀ) ⊙ (Bᵀ d[ci] B) ] A
//
// where d[ci] is the (m+2)×(m+2) input patch of channel ci that covers the
// tile. The sum over ci is, for each of the t = (m+2)² positions ξ of a
// transformed patch, a matrix product U_ξ [Cout, Cin] · V_ξ [Cin, tiles],
// which runs on the SGEMM micro-kernel.

const (
	wgSkew = 16 // floats of padding between the blocks of the t positions
	wgRows = 48 // output channels whose products are kept for one inverse transform (see wgRowBlock)

	wgFewChannels = 32 // input channels per input-transform task in winogradFew
)

// winogradAlgo returns the algorithm Conv2D runs p with, or nil for the
// direct convolution: Winograd for 3×3, stride-1, pad-1 convolutions with
// enough pixels for the per-call weight transform to pay off.
func winogradAlgo(p Conv2DParams) *wgAlgo {
	if p.KH != 3 || p.KW != 3 || p.Stride != 1 || p.Pad != 1 {
		return nil
	}
	// Pixels per image, not per call: the choice must not depend on the
	// batch size, or an image denoised in a batch would differ in its last
	// bits from the same image alone (roentgen batch relies on equality).
	switch px := p.H * p.W; {
	case px >= wg4MinPixels:
		return wg4
	case px >= wg2MinPixels && p.Cin >= wgMinChannels && p.Cout >= wgMinChannels:
		return wg2
	}
	return nil
}

// Thresholds of winogradAlgo, from BenchmarkConv3x3Direct,
// BenchmarkConv3x3Winograd2 and BenchmarkConv3x3Winograd4 (2 threads, AVX2,
// 2026-11-27; effective GFLOP/s direct / F(2×2) / F(4×4), ±15% run to run):
//
//	320 ch at 64×64            111 / 168 / 265
//	128 ch at 256×256           90 / 158 / 342
//	640 ch at 32×32, 2 images  124 / 214 / 305
//	1280 ch at 16×16, 2 images 123 / 177 / 374
//	1280 ch at 16×16           126 / 164 / 241
//	1280 ch at 8×8, 2 images    88 / 154 / 123
//	1280 ch at 8×8              85 / 109 /  73
//	1280 ch at 4×4              41 /  23 /  17
//	4 → 320 ch at 64×64         25 /  12 /  50
//	128 → 3 ch at 512×512        7 /  12 /  29
//	320 → 4 ch at 64×64, 2 imgs  6 /  12 /  45
//
// Both transform every weight on every call (into 16 or 36 values), so
// F(4×4, 3×3) pays off from 16×16 pixels and F(2×2, 3×3) at 8×8 (with a
// smaller error than F(4×4, 3×3)); at 4×4 each weight panel meets a single
// tile panel and the products run at matrix-vector speed. F(2×2, 3×3)'s
// transforms cost more than they save with few channels; F(4×4, 3×3)'s
// vector transforms do not, and with few output channels (conv_out) they
// replace an im2col matrix that costs more to pack than to multiply.
const (
	wg2MinPixels  = 8 * 8
	wg4MinPixels  = 16 * 16
	wgMinChannels = 32
)

// conv3x3Winograd is conv2D for KH = KW = 3, Stride = 1, Pad = 1 by the
// algorithm a. The weights are transformed and packed as micro-kernel A
// panels once per call; each task then owns a block of a.tilesPerTask output
// tiles, transforms its input patches into packed B panels, runs the t
// products into scratch and inverse-transforms them, adding bias and
// residual. Calls with at most a.few tiles go to winogradFew. The depth
// blocking depends on Cin and the micro-kernel only, so the result does
// not depend on the number of threads.
func conv3x3Winograd(mk *microKernel, a *wgAlgo, out, x []float32, w Weights, bias, residual []float32, p Conv2DParams) {
	mr := mk.mr
	nt := p.N * wgTilesPerImage(a, p)
	kc := kcFor(p.Cin, mk.kc)
	if nt <= a.few {
		winogradFew(mk, a, out, x, w, bias, residual, p, nt)
		return
	}
	mpad := ceilDiv(p.Cout, mr) * mr
	us := mpad*p.Cin + wgSkew
	ub := getBuf(a.t * us)
	defer putBuf(ub)
	u := *ub
	parallelFor(mpad/mr, func(panel int) {
		winogradWeightPanel(a, u, w, p.Cin, p.Cout, mpad, kc, mr, us, panel, panel)
	})

	nb := a.tilesPerTask(nt)
	cr := wgRowBlock(mpad, mr, 4*a.t*us, cacheLLC())
	parallelFor(ceilDiv(nt, nb), func(t int) {
		t0 := t * nb
		// The t blocks sit a cache line further apart than their size,
		// so that the transforms' t streams do not share cache sets.
		vs, ms := p.Cin*nb+wgSkew, cr*nb+wgSkew
		vb, mb := getBuf(a.t*vs), getBuf(a.t*ms)
		defer putBuf(vb)
		defer putBuf(mb)
		v, m := *vb, *mb
		winogradInput(mk, a, v, x, p, t0, 0, nb, nb, nt, kc, vs, 0, p.Cin)
		// cr output channels at a time, so that their products are
		// still in cache for the inverse transform (see wgRowBlock).
		for r0 := 0; r0 < mpad; r0 += cr {
			r1 := min(r0+cr, mpad)
			winogradProducts(mk, a, u, v, m, us, vs, ms, mpad, r0, r1, p.Cin, kc, nb)
			winogradOutput(a, out, m, bias, residual, p, t0, min(nb, nt-t0), nb, r0, min(r1, p.Cout), ms)
		}
	})
}

// wgRowBlock is the number of output channels (a multiple of mr) whose
// products a conv3x3Winograd task keeps for one inverse transform: wgRows,
// so that they stay in L2. But when the transformed weights (uBytes) do
// not fit in the last-level cache (llc bytes; 0 if unknown), every task
// streams them from memory, evicting its own transformed input, which it
// reads again for each block of rows: then blocks of up to wgRowsWide rows
// in equal parts, which read it half as often. Paired on 2 threads with fp16 weights (32 MiB L3):
// the VAE's 512 channels at 128x128 9% and at 256x256 7% faster, the
// U-Net's 960->320 at 64x64 (2 images) 10%; 640->640 at 64x64 level.
// Where the weights fit, wide blocks were level (256 channels, 512->256,
// 640->320) or slower (session 7: 256 channels 4-6%). Rows are
// independent lanes of the products, so this never changes a result.
func wgRowBlock(mpad, mr, uBytes, llc int) int {
	if llc == 0 || uBytes <= llc {
		return ceilDiv(wgRows, mr) * mr
	}
	blocks := ceilDiv(mpad, wgRowsWide)
	return ceilDiv(mpad/mr, blocks) * mr
}

// wgRowsWide bounds wgRowBlock's blocks when the weights miss the cache.
const wgRowsWide = 120

// tilesPerTask is the number of tiles a conv3x3Winograd task owns: a.tiles,
// or half as many when a.tiles would make fewer than wgMinTasks tasks (the
// U-Net's 64×64 level: 8 tasks of 64 tiles for two images), so that
// machines with more threads than this one's two have work for them. On 2
// threads the halves were level with 64 tiles (paired runs at 64×64 with
// 320-960 channels, within the noise of ±10%). Tiles are independent lanes
// of the products, so this never changes a result, and it does not depend
// on the thread count.
func (a *wgAlgo) tilesPerTask(nt int) int {
	if ceilDiv(nt, a.tiles) < wgMinTasks {
		return a.tiles / 2
	}
	return a.tiles
}

// wgMinTasks is the fewest tasks tilesPerTask aims for.
const wgMinTasks = 16

// wgRowsFor is the number of output channels (a multiple of mr) a
// winogradFew task handles, given nb lanes of tiles and the size of the
// transformed input in bytes: wgRows, or a single panel of mr when there
// are at most wgNarrowTiles lanes and the transformed input fits in
// wgFewInputCached bytes. With so few tiles each weight panel meets only
// a few tile panels, and keeping a task's transformed weights small pays
// more than reusing each tile panel for more rows (1280 channels at 16×16
// with 2 images: 221-273 effective GFLOP/s with 48 rows, 346-355 with 6;
// with 128 lanes 48 rows are best). But every task reads all of the
// transformed input, and once that outgrows its share of L3 the tasks
// read it from memory: then 48 rows, which read it an eighth as often, win
// (paired, 2 threads: 2560 → 1280 channels at 16×16, 2 images, 11.8 MB,
// 1.6x faster; 1280 at 16×16 with 4 images +17%; up to 5.9 MB, 48 rows
// were 2-5% slower). Rows are independent, so this never changes a
// result.
func wgRowsFor(nb, mr, inputBytes int) int {
	if nb <= wgNarrowTiles && inputBytes <= wgFewInputCached {
		return mr
	}
	return ceilDiv(wgRows, mr) * mr
}

// Cut-offs of wgRowsFor.
const (
	wgNarrowTiles    = 64
	wgFewInputCached = 9 << 20
)

// wgTilesPerImage is the number of a's output tiles that cover one image.
func wgTilesPerImage(a *wgAlgo, p Conv2DParams) int {
	return ceilDiv(p.H, a.m) * ceilDiv(p.W, a.m)
}

// winogradFew is conv3x3Winograd for a few tiles (low resolutions with many
// channels), where a per-call transform of every weight would cost as much
// as the products: all input patches are transformed first, split over
// channels, and then each task owns a block of output channels and, one
// depth block at a time, transforms only their weights and runs their
// products over all tiles (a block at a time keeps the transformed weights
// in L2: 2560 → 1280 channels at 16×16, 2 images, 22% faster than
// transforming all depths first). The depth blocking is the same as
// conv3x3Winograd's, and so are the results.
func winogradFew(mk *microKernel, a *wgAlgo, out, x []float32, w Weights, bias, residual []float32, p Conv2DParams, nt int) {
	mr, nr := mk.mr, mk.nr
	kc := kcFor(p.Cin, mk.kc)
	nb := ceilDiv(nt, nr) * nr
	vs := p.Cin*nb + wgSkew
	vb := getBuf(a.t * vs)
	defer putBuf(vb)
	v := *vb
	lb, cc := ceilDiv(nb, a.tiles), ceilDiv(p.Cin, wgFewChannels)
	parallelFor(lb*cc, func(t int) {
		l0, ci0 := (t/cc)*a.tiles, (t%cc)*wgFewChannels
		winogradInput(mk, a, v, x, p, 0, l0, min(a.tiles, nb-l0), nb, nt, kc, vs, ci0, min(ci0+wgFewChannels, p.Cin))
	})
	cr := wgRowsFor(nb, mr, 4*a.t*vs)
	mpad := ceilDiv(p.Cout, mr) * mr
	parallelFor(ceilDiv(mpad, cr), func(t int) {
		r0 := t * cr
		rows := min(cr, mpad-r0)
		// One depth block of the task's transformed weights at a time, so
		// that they are still in L2 for the products (all of Cin would be
		// 2.2 MiB for 6 rows of 2560 channels under F(4×4, 3×3)).
		us, ms := rows*kc+wgSkew, rows*nb+wgSkew
		ub, mb := getBuf(a.t*us), getBuf(a.t*ms)
		defer putBuf(ub)
		defer putBuf(mb)
		u, m := *ub, *mb
		for p0 := 0; p0 < p.Cin; p0 += kc {
			kb := min(kc, p.Cin-p0)
			for pn := range rows / mr {
				winogradWeightBlock(a, u[pn*kb*mr:], w, p.Cin, p.Cout, mr, us, r0/mr+pn, p0, kb)
			}
			for xi := range a.t {
				wgProductBlock(mk, u[xi*us:], v[xi*vs+p0*nb:], m[xi*ms:], 0, rows, kb, nb, p0 > 0)
			}
		}
		winogradOutput(a, out, m, bias, residual, p, 0, nt, nb, r0, min(r0+rows, p.Cout), ms)
	})
}

// winogradWeightPanel writes panel (output channels panel*mr …) of the
// transformed weights U_ξ = (G g Gᵀ)_ξ as micro-kernel A panel number at of
// a block of mpad rows: position ξ's block starts at ξ*us, depth block p0
// (of kb ≤ kc channels) at p0*mpad within it, and holds mpad/mr panels of
// kb×mr values; rows past cout are zero.
func winogradWeightPanel(a *wgAlgo, u []float32, w Weights, cin, cout, mpad, kc, mr, us, panel, at int) {
	for p0 := 0; p0 < cin; p0 += kc {
		kb := min(kc, cin-p0)
		winogradWeightBlock(a, u[p0*mpad+at*kb*mr:], w, cin, cout, mr, us, panel, p0, kb)
	}
}

// winogradWeightBlock writes depths [p0, p0+kb) of panel (output channels
// panel*mr …) of the transformed weights as one kb×mr A panel per
// position ξ, at dst[ξ*us]; rows past cout are zero.
func winogradWeightBlock(a *wgAlgo, dst []float32, w Weights, cin, cout, mr, us, panel, p0, kb int) {
	// The block's filters, tap-major: tap t of input channel p0+kk's filter
	// for output channel panel*mr+l at taps[(kk*9+t)*tw + l], zero past
	// cout and past mr, so that a vector holds one tap of tw filters.
	tw := max(mr, 8)
	tb := getBuf(kb * 9 * tw)
	defer putBuf(tb)
	taps, co := *tb, panel*mr
	valid := max(0, min(mr, cout-co))
	if w.F16 != nil {
		panelLanes16(taps, w.F16, cin*9, co, valid, p0*9, kb*9, tw)
	} else {
		panelLanes(taps, w.F32, cin*9, co, valid, p0*9, kb*9, tw)
	}
	a.filterTaps(a, taps, tw, kb, mr, dst, us)
}

// wgFilterTapsGo is the pure-Go filterTaps: the filter of lane l at depth
// kk, tap t at taps[(kk*9+t)*tw + l], into dst[ξ*us + kk*mr + l], for
// l < mr.
func wgFilterTapsGo(a *wgAlgo, taps []float32, tw, kb, mr int, dst []float32, us int) {
	var g [9]float32
	for kk := range kb {
		for l := range mr {
			for t := range g {
				g[t] = taps[(kk*9+t)*tw+l]
			}
			a.filter(&g, dst[kk*mr+l:], us)
		}
	}
}

// winogradInput writes V_ξ = (Bᵀ d B)_ξ for channels [ci0, ci1) and lanes
// [l0, l0+nl) of a block of nb lanes, lane l being tile t0+l (tiles
// numbered over images, rows and columns; those at or past nt are zero), as
// micro-kernel B panels: position ξ's block starts at ξ*vs, depth block p0
// at p0*nb, and holds nb/nr panels of kb×nr values. l0 is a multiple of nr.
// The patches of a run of lanes in one tile row are first copied, with
// their zero padding, into a strip of m+2 rows, which a.inputRun
// transforms; a run clear of the border is transformed in place.
func winogradInput(mk *microKernel, a *wgAlgo, v, x []float32, p Conv2DParams, t0, l0, nl, nb, nt, kc, vs, ci0, ci1 int) {
	nr := mk.nr
	h, w, hw := p.H, p.W, p.H*p.W
	side := a.m + 2
	valid := min(nl, nt-t0-l0)
	stride := a.m*min(nr, ceilDiv(w, a.m)) + side + wgStripSlack
	sb := getBuf(side * stride)
	defer putBuf(sb)
	strip := *sb
	// The runs are the same in every channel; none crosses a panel.
	var rb [128]wgRun // enough for a.tiles lanes; append grows it otherwise
	runs := wgTileRuns(rb[:0], a, p, t0+l0, valid, nr)
	// fetch asks for channel ci's patches of every run, wgPrefetch
	// channels ahead of their transform: the channel planes lie far apart,
	// beyond the reach of the hardware prefetchers.
	fetch := func(ci int) {
		for _, r := range runs {
			y0, x0, y1, x1 := r.rect(a, p, 1)
			prefetchRows(x, (r.n*p.Cin+ci)*hw+y0*w+x0, w, y1-y0, x1-x0)
		}
	}
	for ci := ci0; ci < min(ci1, ci0+wgPrefetch); ci++ {
		fetch(ci)
	}
	for ci := ci0; ci < ci1; ci++ {
		if ci+wgPrefetch < ci1 {
			fetch(ci + wgPrefetch)
		}
		p0 := ci / kc * kc
		kb, kk := min(kc, p.Cin-p0), ci-p0
		blk := v[p0*nb+kk*nr:]
		for _, r := range runs {
			img := x[(r.n*p.Cin+ci)*hw : (r.n*p.Cin+ci+1)*hw]
			y0, x0, cols := a.m*r.ty-1, a.m*r.tc-1, a.m*r.run+2
			l := l0 + r.l
			// A run clear of the image's border (the VAE's wide images)
			// is transformed in place: the prefetch has brought its rows.
			if y0 >= 0 && y0+side <= h && x0 >= 0 && x0+cols <= w && (y0+side-1)*w+x0+cols+wgStripSlack <= hw {
				a.inputRun(a, img[y0*w+x0:], w, blk[(l-l%nr)*kb+l%nr:], vs, r.run)
				continue
			}
			wgStrip(strip, stride, img, h, w, y0, x0, side, cols)
			a.inputRun(a, strip, stride, blk[(l-l%nr)*kb+l%nr:], vs, r.run)
		}
		// Lanes past the valid tiles are zero.
		for l := valid; l < nl; {
			ln := l % nr
			pb := blk[(l0+l-ln)*kb:]
			for xi := range a.t {
				clear(pb[xi*vs+ln : xi*vs+nr])
			}
			l += nr - ln
		}
	}
}

// wgPrefetch is how many channels ahead winogradInput and winogradOutput
// prefetch the image rows they will read or write.
const wgPrefetch = 2

// wgRun is a run of lanes l … l+run-1 holding tiles of one tile row: of
// image n, tile row ty, tile columns tc … tc+run-1.
type wgRun struct{ l, n, ty, tc, run int }

// rect returns the rows [y0, y1) and columns [x0, x1) of the image that
// the run's tiles cover, widened by halo pixels and clipped to the image.
func (r wgRun) rect(a *wgAlgo, p Conv2DParams, halo int) (y0, x0, y1, x1 int) {
	y0, x0 = max(0, a.m*r.ty-halo), max(0, a.m*r.tc-halo)
	y1, x1 = min(p.H, a.m*(r.ty+1)+halo), min(p.W, a.m*(r.tc+r.run)+halo)
	return y0, x0, y1, x1
}

// wgTileRuns appends the runs of lanes [0, valid), lane l being tile t0+l,
// that stay in one tile row and in one span of lanes (spans start at
// multiples of span).
func wgTileRuns(runs []wgRun, a *wgAlgo, p Conv2DParams, t0, valid, span int) []wgRun {
	tx := ceilDiv(p.W, a.m)
	tpi := ceilDiv(p.H, a.m) * tx
	for l := 0; l < valid; {
		t := t0 + l
		n, r := t/tpi, t%tpi
		ty, tc := r/tx, r%tx
		run := min(span-l%span, valid-l, tx-tc)
		runs = append(runs, wgRun{l, n, ty, tc, run})
		l += run
	}
	return runs
}

// wgStripSlack is the floats past a strip's patches that a vector
// inputRun may read (and ignore).
const wgStripSlack = 8

// wgStrip copies rows [y0, y0+rows) and columns [x0, x0+cols) of the h×w
// image img into strip (row stride stride), zero outside the image and in
// the wgStripSlack columns after cols.
func wgStrip(strip []float32, stride int, img []float32, h, w, y0, x0, rows, cols int) {
	lo, hi := max(0, -x0), min(cols, w-x0)
	for i := range rows {
		row := strip[i*stride : i*stride+cols+wgStripSlack]
		y := y0 + i
		if y < 0 || y >= h || lo >= hi {
			clear(row)
			continue
		}
		clear(row[:lo])
		copy(row[lo:hi], img[y*w+x0+lo:y*w+x0+hi])
		clear(row[hi:])
	}
}

// wgInputRunGo is the pure-Go inputRun: a.input on each of run patches m
// columns apart in strip, into lanes 0 … run-1 of dst.
func wgInputRunGo(a *wgAlgo, strip []float32, stride int, dst []float32, vs, run int) {
	for l := range run {
		a.input(strip[a.m*l:], stride, dst[l:], vs)
	}
}

// winogradOutput writes Y = Aᵀ M A (+ bias, + residual, then p.Act) for output channels
// [c0, c1) and the valid tiles from t0. m holds, for position ξ, a
// rows×nb block starting at ξ*ms whose row co-c0 is channel co. Runs of
// lanes in one tile row that lie inside the image go to a.outputRun.
func winogradOutput(a *wgAlgo, out, m, bias, residual []float32, p Conv2DParams, t0, valid, nb, c0, c1, ms int) {
	h, w, mm := p.H, p.W, a.m
	yb := getBuf(16) // not a local array: a.output would make it escape
	defer putBuf(yb)
	y := (*[16]float32)(*yb)
	var rb [128]wgRun
	runs := wgTileRuns(rb[:0], a, p, t0, valid, valid)
	fetch := func(co int) {
		for _, r := range runs {
			y0, x0, y1, x1 := r.rect(a, p, 0)
			base := ((r.n*p.Cout+co)*h+y0)*w + x0
			prefetchRows(out, base, w, y1-y0, x1-x0)
			if residual != nil {
				prefetchRows(residual, base, w, y1-y0, x1-x0)
			}
		}
	}
	for co := c0; co < min(c1, c0+wgPrefetch); co++ {
		fetch(co)
	}
	for co := c0; co < c1; co++ {
		if co+wgPrefetch < c1 {
			fetch(co + wgPrefetch)
		}
		mrow := m[(co-c0)*nb:]
		var b float32
		if bias != nil {
			b = bias[co]
		}
		for _, r := range runs {
			oy, ox := mm*r.ty, mm*r.tc
			base := ((r.n*p.Cout+co)*h+oy)*w + ox
			whole := 0 // tiles inside the image: rows of mm*whole outputs
			if oy+mm <= h {
				whole = min(r.run, (w-ox)/mm)
			}
			if whole > 0 {
				a.outputRun(a, mrow[r.l:], ms, out[base:], w, b, residualAt(residual, base), whole, y)
			}
			for i := whole; i < r.run; i++ { // tiles cut by the image's edge
				a.output(mrow[r.l+i:], ms, y)
				rows, cols := min(mm, h-oy), min(mm, w-ox-mm*i)
				wgStore(out[base+mm*i:], w, y[:], mm, b, residualAt(residual, base+mm*i), rows, cols)
			}
		}
		if p.Act != ActNone {
			for _, r := range runs {
				y0, x0, y1, x1 := r.rect(a, p, 0)
				p.Act.applyRows(out[(r.n*p.Cout+co)*h*w:], w, y0, y1, x0, x1)
			}
		}
	}
}

// residualAt is residual[base:], or nil without a residual.
func residualAt(residual []float32, base int) []float32 {
	if residual == nil {
		return nil
	}
	return residual[base:]
}

// wgStore writes rows×cols outputs o[i*w+j] = y[i*m+j] + b (+ res[i*w+j]).
func wgStore(o []float32, w int, y []float32, m int, b float32, res []float32, rows, cols int) {
	for i := range rows {
		oi, yi := o[i*w:][:cols], y[m*i:][:cols]
		if res != nil {
			ri := res[i*w:][:cols]
			for j := range oi {
				oi[j] = yi[j] + b + ri[j]
			}
		} else {
			for j := range oi {
				oi[j] = yi[j] + b
			}
		}
	}
}

// wgOutputRunGo is the pure-Go outputRun: run whole tiles side by side,
// M_ξ of tile l being src[ξ*ms+l], written to o (row stride w) with bias b
// and res (may be nil) added; y is scratch.
func wgOutputRunGo(a *wgAlgo, src []float32, ms int, o []float32, w int, b float32, res []float32, run int, y *[16]float32) {
	for l := range run {
		a.output(src[l:], ms, y)
		wgStore(o[a.m*l:], w, y[:], a.m, b, residualAt(res, a.m*l), a.m, a.m)
	}
}

// winogradProducts runs, for each of a's t tile positions ξ, the product
// M_ξ[r0:r1] = U_ξ[r0:r1] · V_ξ over the input channels in kc-deep blocks
// (U's packed panels hold aRows rows per depth block; M's rows count from
// r0). A B panel stays in L1 while the A panels stream. Both Winograd
// drivers run their products through wgProductBlock in the same depth
// blocks, so they round identically.
func winogradProducts(mk *microKernel, a *wgAlgo, u, v, m []float32, us, vs, ms, aRows, r0, r1, cin, kc, nb int) {
	for xi := range a.t {
		ua, b, c := u[xi*us:], v[xi*vs:], m[xi*ms:]
		for p0 := 0; p0 < cin; p0 += kc {
			kb := min(kc, cin-p0)
			wgProductBlock(mk, ua[p0*aRows:], b[p0*nb:], c, r0, r1, kb, nb, p0 > 0)
		}
	}
}

// wgProductBlock adds (or, for the first depth block, writes) the product
// of one depth block at one position ξ: rows [r0, r1) of the packed A
// panels ablk (kb deep) times the nb lanes of the packed B panels bblk,
// into c (row co-r0 at c[(co-r0)*nb]).
func wgProductBlock(mk *microKernel, ablk, bblk, c []float32, r0, r1, kb, nb int, accumulate bool) {
	var beta float32
	if accumulate {
		beta = 1
	}
	mr, nr := mk.mr, mk.nr
	for jc := 0; jc < nb; jc += nr {
		bp := bblk[jc*kb : (jc+nr)*kb]
		mk.panels((r1-r0)/mr, kb, ablk[r0*kb:], mr*kb, bp, c[jc:], nb, 1, beta, tileAdds{})
	}
}
