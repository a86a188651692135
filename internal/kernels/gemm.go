package kernels

// microKernel computes one mr×nr tile C = alpha*Ap·Bp + beta*C from packed
// panels: a holds k steps of mr values, b holds k steps of nr values, and c is
// row-major with leading dimension ldc. beta == 0 never reads C. Callers
// pass k ≥ 1 and full panels and tiles.
type microKernel struct {
	name   string
	mr, nr int
	mc     int // rows of A per compute task, a multiple of mr (sized for L2)
	kc     int // largest depth block, at most kcMax: an nr-wide B panel of kc rows stays in L1
	fn     func(k int, a, b, c []float32, ldc int, alpha, beta float32)
	// multi, if set, is panels in one call; an assembly kernel saves a Go
	// call per tile with it, and makes the additions before storing the tile.
	multi func(n, k int, a []float32, as int, b, c []float32, ldc int, alpha, beta float32, add tileAdds)
}

// tileAdds are what panels adds to its tiles after alpha·A·B + beta·C,
// each unless nil, in this order: col[j] to column j, row[i] to row i
// (counting the rows of all n tiles), and res[i*ldc+j] (C's layout).
type tileAdds struct{ col, row, res []float32 }

// pointers checks that the additions cover rows×cols of a C with row
// stride ldc and returns their first elements, nil for those absent.
func (t tileAdds) pointers(rows, cols, ldc int) (col, row, res *float32) {
	if t.col != nil {
		col = &t.col[:cols][0]
	}
	if t.row != nil {
		row = &t.row[:rows][0]
	}
	if t.res != nil {
		res = &t.res[:(rows-1)*ldc+cols][0]
	}
	return col, row, res
}

// apply makes the additions in Go on rows×cols of c, rounding as the
// assembly kernels do.
func (t tileAdds) apply(c []float32, ldc, rows, cols int) {
	if add := addBiasCols(c, ldc, t.col); add != nil {
		add(0, rows, 0, cols)
	}
	if add := addBiasRows(c, ldc, t.row, t.res); add != nil {
		add(0, rows, 0, cols)
	}
}

// panels runs the micro-kernel on n A panels, as floats apart, against one
// B panel: tile i is C rows [i*mr, (i+1)*mr) of c. Then it makes the
// additions in add. Every tile sees the same arithmetic as a single fn
// call followed by add.apply.
func (mk *microKernel) panels(n, k int, a []float32, as int, b, c []float32, ldc int, alpha, beta float32, add tileAdds) {
	if n <= 0 {
		return
	}
	if mk.multi != nil {
		mk.multi(n, k, a, as, b, c, ldc, alpha, beta, add)
		return
	}
	for i := range n {
		mk.fn(k, a[i*as:], b, c[i*mk.mr*ldc:], ldc, alpha, beta)
	}
	add.apply(c, ldc, n*mk.mr, mk.nr)
}

// active is the micro-kernel every GEMM-based kernel uses; tests swap it.
var active = bestKernel()

const (
	kcMax   = 320  // largest depth block of any micro-kernel
	mBlock  = 4096 // rows of A packed per outer block
	nBlock  = 4096 // columns of B packed per outer block
	nTask   = 256  // columns per compute task
	panelsT = 8    // panels per packing task
)

// gemmOp is one blocked product C = alpha*A·B + beta*C whose operands are
// reached only through packing callbacks, so that A or B can be a transposed,
// fp16 or implicit (im2col) matrix.
type gemmOp struct {
	m, n, k     int
	alpha, beta float32
	c           []float32
	ldc         int
	// packA writes rows [i0, i0+rows) and depths [p0, p0+kc) of A as
	// ceil(rows/mr) panels of kc×mr values, zero-padded past row m.
	packA func(dst []float32, i0, rows, p0, kc, mr int)
	// packB writes depths [p0, p0+kc) and columns [j0, j0+cols) of B as
	// ceil(cols/nr) panels of kc×nr values, zero-padded past column n.
	packB func(dst []float32, j0, cols, p0, kc, nr int)
	// epilogue, if set, runs once per finished block of C (rows [i0, i1), columns [j0, j1)).
	epilogue func(i0, i1, j0, j1 int)
	// colBias, rowBias and residual, if set, are added to C (colBias[j] to
	// column j, then rowBias[i] to row i, then residual, laid out as C) by
	// the micro-kernel as it stores the last depth block, before the
	// epilogue: no pass of their own over C.
	colBias, rowBias, residual []float32
	// act is applied to each finished block of C after everything else.
	act Act
	// aPacking overrides run's choice of how A is packed (for tests).
	aPacking aPacking
}

// addRows makes C += bias[i] (unless nil) then + res[i][j] (unless nil,
// laid out as C) with the same rounding either way: in the micro-kernel
// when C's rows are short, and as an epilogue pass after each block when
// they are longer than rowAddsInKernel floats. A tile's six residual rows
// then lie far apart (1 MiB for the VAE's 1x1 convolution at 512x512), and
// the epilogue's row-by-row stream reads them faster (paired, 2 threads:
// U-Net 1x1 convolutions at 64x64 +6–8% in the kernel, at 512x512 4%
// slower).
func (g *gemmOp) addRows(bias, res []float32) {
	if g.ldc <= rowAddsInKernel {
		g.rowBias, g.residual = bias, res
		return
	}
	g.epilogue = addBiasRows(g.c, g.ldc, bias, res)
}

// rowAddsInKernel is addRows' cut-off, in floats per row of C.
const rowAddsInKernel = 16384

// finish runs the epilogue and then the activation on a finished block
// of C, rows [i0, i1) and columns [j0, j1), while it is still in cache.
func (g *gemmOp) finish(i0, i1, j0, j1 int) {
	if g.epilogue != nil {
		g.epilogue(i0, i1, j0, j1)
	}
	g.act.applyRows(g.c, g.ldc, i0, i1, j0, j1)
}

// aPacking is how gemmOp.run packs its operands: chosen by shape, both in
// one shared phase, A inside each compute task, or B inside each task.
type aPacking int

const (
	aAuto aPacking = iota
	aShared
	aLocal
	bLocal // B packed inside each compute task (computeLocalB), A shared
)

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// kcFor splits depth k into equal blocks of at most kc; it depends on k and
// the micro-kernel only, so every element sees the same summation order.
func kcFor(k, kc int) int { return ceilDiv(k, ceilDiv(k, kc)) }

// run computes the product with micro-kernel mk. Packing and compute tasks
// cover disjoint output tiles; the depth blocking depends only on k.
//
// A tall product (at least localARows rows per block) packs each compute
// task's own mc rows of A just before using them, so the panels are still
// in L2, and a wide one (useLocalB) each task's own columns of B;
// otherwise one phase packs the whole A and B blocks for all tasks. All
// give the same packed values and the same micro-kernel calls per tile.
func (g *gemmOp) run(mk *microKernel) {
	if g.m <= 0 || g.n <= 0 {
		return
	}
	if g.k <= 0 || g.alpha == 0 {
		scaleMatrix(g.c, g.m, g.n, g.ldc, g.beta)
		tileAdds{g.colBias, g.rowBias, g.residual}.apply(g.c, g.ldc, g.m, g.n)
		g.finish(0, g.m, 0, g.n)
		return
	}
	mr, nr, kc := mk.mr, mk.nr, kcFor(g.k, mk.kc)
	localA := g.aPacking == aLocal || g.aPacking == aAuto && min(g.m, mBlock) >= localARows*mk.mc
	if !localA && (g.aPacking == bLocal || g.aPacking == aAuto && useLocalB(g.m, g.n)) {
		g.runLocalB(mk, kc)
		return
	}
	bBuf := getBuf(ceilDiv(min(g.n, nBlock), nr) * nr * kc)
	defer putBuf(bBuf)
	// A packed inside the tasks needs no row blocks: every task of a
	// column and depth block shares its one packed B block.
	var aBuf *[]float32
	mBlk := g.m
	if !localA {
		mBlk = mBlock
		aBuf = getBuf(ceilDiv(min(g.m, mBlock), mr) * mr * kc)
		defer putBuf(aBuf)
	}
	for i0 := 0; i0 < g.m; i0 += mBlk {
		mb := min(mBlk, g.m-i0)
		for j0 := 0; j0 < g.n; j0 += nBlock {
			nb := min(nBlock, g.n-j0)
			for p0 := 0; p0 < g.k; p0 += kc {
				kb := min(kc, g.k-p0)
				beta := g.beta
				if p0 > 0 {
					beta = 1
				}
				last := p0+kb == g.k
				if localA {
					g.pack(nil, *bBuf, i0, 0, j0, nb, p0, kb, mr, nr)
					g.computeLocalA(mk, *bBuf, i0, mb, j0, nb, p0, kb, beta, last)
					continue
				}
				g.pack(*aBuf, *bBuf, i0, mb, j0, nb, p0, kb, mr, nr)
				g.compute(mk, *aBuf, *bBuf, i0, mb, j0, nb, kb, beta, last)
			}
		}
	}
}

// localARows is the number of mc-row compute tasks per block from which
// run packs A inside the tasks.
const localARows = 8

// localBCols is the number of columns a computeLocalB task packs and owns.
const localBCols = 128

// useLocalB reports whether run packs B inside the compute tasks: for
// products with many more columns than rows (a convolution's pixels), whose
// shared B block would go to L3 and back (1x1 convolutions at 64x64
// +12-30%, paired).
func useLocalB(m, n int) bool { return n >= 8*localBCols && n >= 4*m }

// pack fills the shared A (mb rows; none if mb is 0) and B blocks in
// parallel, a group of panels per task.
func (g *gemmOp) pack(a, b []float32, i0, mb, j0, nb, p0, kb, mr, nr int) {
	ap, bp := ceilDiv(mb, mr), ceilDiv(nb, nr)
	at, bt := ceilDiv(ap, panelsT), ceilDiv(bp, panelsT)
	parallelFor(at+bt, func(t int) {
		if t < at {
			lo := t * panelsT * mr
			rows := min(panelsT*mr, mb-lo)
			g.packA(a[lo*kb:], i0+lo, rows, p0, kb, mr)
			return
		}
		lo := (t - at) * panelsT * nr
		cols := min(panelsT*nr, nb-lo)
		g.packB(b[lo*kb:], j0+lo, cols, p0, kb, nr)
	})
}

// compute runs the micro-kernel over every tile of the block, one task per
// mc×nTask sub-block of the packed A block a, or mc×nTask/2 when that
// makes fewer than gemmMinTasks tasks (the U-Net's 512-row layers at 512
// px: 25 tasks for 1280 columns, now 50; on 2 threads 30 paired runs were
// level or up to 3% faster with the narrower tasks). The split depends on
// the shape only, and every tile sees the same micro-kernel calls.
func (g *gemmOp) compute(mk *microKernel, a, b []float32, i0, mb, j0, nb, kb int, beta float32, last bool) {
	tm, cw := ceilDiv(mb, mk.mc), nTask
	if tm*ceilDiv(nb, cw) < gemmMinTasks {
		cw /= 2
	}
	tn := ceilDiv(nb, cw)
	parallelFor(tm*tn, func(t int) {
		ri, ci := (t/tn)*mk.mc, (t%tn)*cw
		re, ce := min(ri+mk.mc, mb), min(ci+cw, nb)
		g.tiles(mk, a[ri*kb:], b, 0, i0, ri, re, j0, ci, ce, kb, beta, last)
		if last {
			g.finish(i0+ri, i0+re, j0+ci, j0+ce)
		}
	})
}

// computeLocalA is compute with one task per mc rows and a part of the nb
// columns (all of them unless localAParts splits them), each packing its
// rows of A (depths [p0, p0+kb)) itself.
func (g *gemmOp) computeLocalA(mk *microKernel, b []float32, i0, mb, j0, nb, p0, kb int, beta float32, last bool) {
	rows := ceilDiv(mb, mk.mc)
	parts := localAParts(rows, nb)
	pw := ceilDiv(ceilDiv(nb, parts), mk.nr) * mk.nr
	parts = ceilDiv(nb, pw)
	parallelFor(rows*parts, func(t int) {
		ri, ci := (t/parts)*mk.mc, (t%parts)*pw
		re, ce := min(ri+mk.mc, mb), min(ci+pw, nb)
		ab := getBuf(ceilDiv(re-ri, mk.mr) * mk.mr * kb)
		defer putBuf(ab)
		g.packA(*ab, i0+ri, re-ri, p0, kb, mk.mr)
		g.tiles(mk, *ab, b, 0, i0, ri, re, j0, ci, ce, kb, beta, last)
		if last {
			g.finish(i0+ri, i0+re, j0+ci, j0+ce)
		}
	})
}

// localAParts is the number of parts computeLocalA splits nb columns into
// for rows tasks of mc rows: enough for gemmMinTasks tasks in all, but
// none narrower than nTask columns. Tall products keep one part; the
// U-Net's 2048-row Linear layers (18 row tasks at 512 px) get two, so that
// a machine with 16 or more threads is not left with 18 tasks. Each part
// packs its rows of A again: on 2 threads three parts were level with one
// at 2048 rows (medians of 30 paired runs within 1%), but 3.6% slower for
// the VAE's 4096x512 -> 512, which 32 tasks leave whole. The parts depend
// on the shape only, and every tile sees the same micro-kernel calls.
func localAParts(rows, nb int) int {
	return max(1, min(ceilDiv(gemmMinTasks, rows), nb/nTask))
}

// gemmMinTasks is the fewest tasks localAParts and compute aim for.
const gemmMinTasks = 32

// runLocalB is run for a wide product (useLocalB): A is packed for a group
// of depth blocks at once (all of them unless that passes localBAFloats),
// and then each task owns localBCols columns and runs the group's depth
// blocks over them in order, packing its own columns of B for each. Its
// block of C so stays in L2 from one depth block to the next, where a
// phase per depth block sent all of C to memory and back each time (the
// VAE's 1x1 convolutions: 64 MB). Every tile sees the micro-kernel calls
// of the other paths.
func (g *gemmOp) runLocalB(mk *microKernel, kc int) {
	mr := mk.mr
	for i0 := 0; i0 < g.m; i0 += mBlock {
		mb := min(mBlock, g.m-i0)
		mpad := ceilDiv(mb, mr) * mr
		group := max(1, localBAFloats/(mpad*kc)) * kc
		aBuf := getBuf(mpad * min(g.k, group))
		for g0 := 0; g0 < g.k; g0 += group {
			g1 := min(g0+group, g.k)
			for p0 := g0; p0 < g1; p0 += kc {
				g.pack((*aBuf)[(p0-g0)*mpad:], nil, i0, mb, 0, 0, p0, min(kc, g1-p0), mr, mk.nr)
			}
			g.computeLocalB(mk, *aBuf, i0, mb, g0, g1, kc)
		}
		putBuf(aBuf)
	}
}

// localBAFloats bounds runLocalB's packed A, in floats (16 MiB); a
// variable so that tests can make it group depth blocks.
var localBAFloats = 4 << 20

// computeLocalB runs depths [g0, g1) of rows [i0, i0+mb) over every column,
// one task per localBCols columns; a holds the rows' packed A panels for
// those depths, depth block after depth block.
func (g *gemmOp) computeLocalB(mk *microKernel, a []float32, i0, mb, g0, g1, kc int) {
	mpad := ceilDiv(mb, mk.mr) * mk.mr
	parallelFor(ceilDiv(g.n, localBCols), func(t int) {
		ci := t * localBCols
		ce := min(ci+localBCols, g.n)
		bb := getBuf(ceilDiv(ce-ci, mk.nr) * mk.nr * kc)
		defer putBuf(bb)
		for p0 := g0; p0 < g1; p0 += kc {
			kb := min(kc, g1-p0)
			beta := g.beta
			if p0 > 0 {
				beta = 1
			}
			last := p0+kb == g.k
			g.packB(*bb, ci, ce-ci, p0, kb, mk.nr)
			ab := a[(p0-g0)*mpad:]
			for ri := 0; ri < mb; ri += mk.mc {
				re := min(ri+mk.mc, mb)
				g.tiles(mk, ab[ri*kb:], *bb, ci, i0, ri, re, 0, ci, ce, kb, beta, last)
			}
			if last {
				g.finish(i0, i0+mb, ci, ce)
			}
		}
	})
}

// tiles runs the micro-kernel over rows [ri, re) and columns [ci, ce) of
// the block at (i0, j0), A's panels starting with row ri at a[0] and B's
// with column bc0 at b[0], adding colBias, rowBias and residual if this is
// the last depth block; edge tiles go through a scratch tile so that every
// element is computed by the same instructions wherever it lies.
func (g *gemmOp) tiles(mk *microKernel, a, b []float32, bc0, i0, ri, re, j0, ci, ce, kb int, beta float32, last bool) {
	mr, nr := mk.mr, mk.nr
	// add gives the additions for the tile at C's rows and columns from (i, j).
	add := func(i, j int) tileAdds {
		if !last {
			return tileAdds{}
		}
		var t tileAdds
		if g.colBias != nil {
			t.col = g.colBias[j:]
		}
		if g.rowBias != nil {
			t.row = g.rowBias[i:]
		}
		if g.residual != nil {
			t.res = g.residual[i*g.ldc+j:]
		}
		return t
	}
	tb := getBuf(maxMR * maxNR) // not a local array: mk.fn would make it escape on every call
	defer putBuf(tb)
	tmp := *tb
	full := (re - ri) / mr // whole panels of rows
	for jc := ci; jc < ce; jc += nr {
		bp := b[(jc-bc0)*kb : (jc-bc0+nr)*kb]
		cols := min(nr, ce-jc)
		ir := ri
		if cols == nr {
			mk.panels(full, kb, a, mr*kb, bp, g.c[(i0+ri)*g.ldc+j0+jc:], g.ldc, g.alpha, beta, add(i0+ri, j0+jc))
			ir += full * mr
		}
		for ; ir < re; ir += mr {
			ap := a[(ir-ri)*kb : (ir-ri+mr)*kb]
			rows := min(mr, re-ir)
			off := (i0+ir)*g.ldc + j0 + jc
			if beta != 0 {
				for r := range rows {
					copy(tmp[r*nr:r*nr+cols], g.c[off+r*g.ldc:])
				}
			}
			mk.fn(kb, ap, bp, tmp, nr, g.alpha, beta)
			for r := range rows {
				copy(g.c[off+r*g.ldc:off+r*g.ldc+cols], tmp[r*nr:])
			}
			add(i0+ir, j0+jc).apply(g.c[off:], g.ldc, rows, cols)
		}
	}
}

// scaleMatrix sets C = beta*C over an m×n block; beta == 0 writes zeros.
func scaleMatrix(c []float32, m, n, ldc int, beta float32) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}
