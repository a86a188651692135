package kernels

// Packing helpers. A panel holds kc steps of w lanes, dst[kk*w+l]; lanes at or
// past valid are zero. "Lane-major" sources store each lane contiguously along
// the depth (a row of a row-major A, or of a transposed B); "depth-major"
// sources store each depth step contiguously across lanes.

// panelLanesGo packs from a lane-major source: dst[kk*w+l] = src[(r0+l)*ld + p0+kk].
// It walks the depth outermost so the stores are sequential, reading the
// lanes' rows as parallel streams; w is at most 64. panelLanes does the
// same, in AVX2 where it can.
func panelLanesGo(dst, src []float32, ld, r0, valid, p0, kc, w int) {
	dst = dst[:kc*w]
	if valid < w {
		clear(dst)
	}
	var rows [64][]float32
	for l := range valid {
		rows[l] = src[(r0+l)*ld+p0 : (r0+l)*ld+p0+kc]
	}
	if valid == 6 { // the AVX2 kernel's A panels: unrolled
		a0 := rows[0]
		a1, a2, a3, a4, a5 := rows[1][:len(a0)], rows[2][:len(a0)], rows[3][:len(a0)], rows[4][:len(a0)], rows[5][:len(a0)]
		for kk := range a0 {
			d := dst[kk*w : kk*w+6 : kk*w+6]
			d[0], d[1], d[2], d[3], d[4], d[5] = a0[kk], a1[kk], a2[kk], a3[kk], a4[kk], a5[kk]
		}
		return
	}
	for kk := range kc {
		d := dst[kk*w : kk*w+valid]
		for l := range d {
			d[l] = rows[l][kk]
		}
	}
}

// transposeRest is the part of a lane transposition (transposeTo, or
// panelLanes' packing) left after its vector blocks covered lanes [0, g)
// for columns [0, m): dst[i*ldd+l] = src[l*lds+i] for lanes [g, lanes) at
// every i < n, and lanes [0, g) at i in [m, n).
func transposeRest(dst, src []float32, lds, ldd, lanes, n, g, m int) {
	for l := range lanes {
		i0 := 0
		if l < g {
			i0 = m
		}
		row := src[l*lds : l*lds+n]
		for i := i0; i < n; i++ {
			dst[i*ldd+l] = row[i]
		}
	}
}

// panelDepth packs from a depth-major source: dst[kk*w+l] = src[(p0+kk)*ld + r0+l].
func panelDepth(dst, src []float32, ld, r0, valid, p0, kc, w int) {
	for kk := range kc {
		d := dst[kk*w : kk*w+w]
		copy(d[:valid], src[(p0+kk)*ld+r0:])
		clear(d[valid:])
	}
}

// panelLanes16Go is panelLanes for an fp16 source: the lanes' rows are
// decoded into a scratch block first.
func panelLanes16Go(dst []float32, src []uint16, ld, r0, valid, p0, kc, w int) {
	buf := getBuf(max(valid, 1) * kc)
	defer putBuf(buf)
	rows := *buf
	for l := range valid {
		f16ToF32(rows[l*kc:(l+1)*kc], src[(r0+l)*ld+p0:])
	}
	panelLanes(dst, rows, kc, 0, valid, 0, kc, w)
}

// panelDepth16 is panelDepth for an fp16 source.
func panelDepth16(dst []float32, src []uint16, ld, r0, valid, p0, kc, w int) {
	for kk := range kc {
		d := dst[kk*w : kk*w+w]
		f16ToF32(d[:valid], src[(p0+kk)*ld+r0:])
		clear(d[valid:])
	}
}

// matPacker returns a packing callback for a row-major matrix operand with
// `lanes` lanes (rows of A, or columns of B) of which laneMajor tells whether
// a lane is contiguous along the depth.
func matPacker(src []float32, ld, lanes int, laneMajor bool) func(dst []float32, l0, n, p0, kc, w int) {
	return func(dst []float32, l0, n, p0, kc, w int) {
		if !laneMajor && n%w == 0 && l0+n <= lanes {
			depthRows(dst, src, ld, l0, n, p0, kc, w)
			return
		}
		for q := 0; q < n; q += w {
			valid := min(w, lanes-l0-q)
			d := dst[q*kc : q*kc+kc*w]
			if laneMajor {
				panelLanes(d, src, ld, l0+q, valid, p0, kc, w)
			} else {
				panelDepth(d, src, ld, l0+q, valid, p0, kc, w)
			}
		}
	}
}

// depthRows is panelDepth for n/w whole panels side by side, a depth at a
// time: each depth's n lanes are one contiguous read, where panel by panel
// they would be kc reads of w values each far apart. The rows lie ld apart,
// too far for the hardware prefetchers (an image's channel planes), so the
// row depthAhead depths on is prefetched. Each lane group is a copy (a
// vector move), 1.7x faster than an element loop (2.6M floats from rows 16
// KiB apart; 1x1 convolutions' GEMMs +2–5%, paired).
func depthRows(dst, src []float32, ld, l0, n, p0, kc, w int) {
	for kk := range min(kc, depthAhead) {
		prefetchRows(src, (p0+kk)*ld+l0, ld, 1, n)
	}
	for kk := range kc {
		if kk+depthAhead < kc {
			prefetchRows(src, (p0+kk+depthAhead)*ld+l0, ld, 1, n)
		}
		row := src[(p0+kk)*ld+l0 : (p0+kk)*ld+l0+n]
		for q := 0; q < n; q += w {
			copy(dst[q*kc+kk*w:q*kc+kk*w+w], row[q:q+w])
		}
	}
}

// depthAhead is how many depths ahead depthRows prefetches.
const depthAhead = 4

// matPacker16 is matPacker for an fp16 operand.
func matPacker16(src []uint16, ld, lanes int, laneMajor bool) func(dst []float32, l0, n, p0, kc, w int) {
	return func(dst []float32, l0, n, p0, kc, w int) {
		for q := 0; q < n; q += w {
			valid := min(w, lanes-l0-q)
			d := dst[q*kc : q*kc+kc*w]
			if laneMajor {
				panelLanes16(d, src, ld, l0+q, valid, p0, kc, w)
			} else {
				panelDepth16(d, src, ld, l0+q, valid, p0, kc, w)
			}
		}
	}
}
