package kernels

import "math"

// Attention computes softmax(q·kᵀ·scale)·v per batch b and head h, for
// q [B, Lq, H, D], k and v [B, Lk, H, D] (token-major, heads interleaved, as
// a Linear produces them) and out [B, Lq, H, D]. causal masks key j > query i.
// The naive reference is
//
//	for b, h, i := range [B, H, Lq] {
//		s[j] = scale * Σ_d q[b,i,h,d]*k[b,j,h,d]   (j ≤ i if causal)
//		p := softmax(s)
//		out[b,i,h,d] = Σ_j p[j]*v[b,j,h,d]
//	}
//
// It is flash-style: per block of queries it walks the keys in blocks with an
// online softmax, so no Lq×Lk matrix exists. Both products run on the GEMM
// micro-kernel in transposed form, Sᵀ = K·Qᵀ and Oᵀ += Vᵀ·Pᵀ, so that the
// scores land directly in the packed layout the second product reads and the
// softmax runs down columns with no horizontal reductions.
func Attention(out, q, k, v []float32, b, lq, lk, h, d int, scale float32, causal bool) {
	needLen("Attention", "out", len(out), b*lq*h*d)
	needLen("Attention", "q", len(q), b*lq*h*d)
	needLen("Attention", "k", len(k), b*lk*h*d)
	needLen("Attention", "v", len(v), b*lk*h*d)
	attention(active, out, q, k, v, b, lq, lk, h, d, scale, causal)
}

// attnPlan holds the block sizes of one attention call.
type attnPlan struct {
	mk               *microKernel
	lq, lk, h, d     int
	ld               int     // row stride of q, k, v and out: h*d
	bq, bk           int     // queries per task (a multiple of nr), keys per block (a multiple of mr)
	lkPad, dPad      int     // lk rounded up to bk, d rounded up to mr
	scale            float32 // the caller's scale times log2(e)
	causal           bool
	kPacked, vPacked []float32
}

func attention(mk *microKernel, out, q, k, v []float32, b, lq, lk, h, d int, scale float32, causal bool) {
	if b <= 0 || lq <= 0 || h <= 0 || d <= 0 {
		return
	}
	if lk <= 0 {
		clear(out[:b*lq*h*d])
		return
	}
	// Scores carry log2(e), so that the softmax takes 2^x (exp2For): the
	// same probabilities, with a cheaper range reduction than e^x.
	pl := attnPlan{mk: mk, lq: lq, lk: lk, h: h, d: d, ld: h * d, scale: float32(float64(scale) * math.Log2E), causal: causal}
	pl.bk = mk.mr * ceilDiv(min(256, lk), mk.mr)
	pl.bq = mk.nr * ceilDiv(attnQueries(lq, h, lk > pl.bk), mk.nr)
	pl.lkPad = pl.bk * ceilDiv(lk, pl.bk)
	pl.dPad = mk.mr * ceilDiv(d, mk.mr)
	kBuf, vBuf := getBuf(h*pl.lkPad*d), getBuf(h*pl.dPad*pl.lkPad)
	defer putBuf(kBuf)
	defer putBuf(vBuf)
	pl.kPacked, pl.vPacked = *kBuf, *vBuf
	nqb := ceilDiv(lq, pl.bq)
	for bi := range b {
		off, koff := bi*lq*pl.ld, bi*lk*pl.ld
		pl.packKV(k[koff:], v[koff:])
		// A task owns a block of queries of one head; the tasks of a head
		// are handed out together, so that the threads share its keys and
		// values in cache.
		parallelFor(h*nqb, func(t int) {
			hi, qb := t/nqb, t%nqb
			buf := getBuf(pl.scratch())
			defer putBuf(buf)
			pl.queryBlock(out[off+hi*d:], q[off+hi*d:], qb*pl.bq, hi, *buf)
		})
	}
}

// attnQueries is the number of queries per attention task (one head's).
// With more than one block of keys, a task reuses each block from L2 for
// all its queries, so larger tasks read the keys and values from L3 fewer
// times: up to 512 queries (SD 1.5's 4096-token self-attention 5% faster
// than with 64, paired runs on 2 threads), but no more than makes
// attnMinTasks tasks over all h heads (the VAE's single head: 256), and no
// fewer than 64. With one block (cross-attention) the keys stay in cache
// anyway and 64 queries keep a task's output panel in L1 (4% faster than
// 512). Queries are independent lanes, so this never changes a result; nor
// does it depend on the number of threads.
func attnQueries(lq, h int, manyBlocks bool) int {
	if !manyBlocks {
		return 64
	}
	return max(64, min(512, lq, lq*h/attnMinTasks))
}

// attnMinTasks is the fewest tasks per image attnQueries aims for.
const attnMinTasks = 16

// packKV packs every head's keys as A panels [key/mr][d][mr] (for Sᵀ = K·Qᵀ)
// and its values transposed as A panels [d/mr][key][mr] (for Oᵀ = Vᵀ·Pᵀ),
// head after head.
func (pl *attnPlan) packKV(k, v []float32) {
	mr := pl.mk.mr
	kp, vp := pl.lkPad/mr, pl.dPad/mr
	kt := ceilDiv(kp, 16)
	parallelFor(pl.h*(kt+vp), func(t int) {
		hi, t := t/(kt+vp), t%(kt+vp)
		kh, vh := k[hi*pl.d:], v[hi*pl.d:]
		if t < kt {
			kPacked := pl.kPacked[hi*pl.lkPad*pl.d:]
			for p := t * 16; p < min(kp, (t+1)*16); p++ {
				valid := max(0, min(mr, pl.lk-p*mr))
				panelLanes(kPacked[p*mr*pl.d:], kh, pl.ld, p*mr, valid, 0, pl.d, mr)
			}
			return
		}
		p := t - kt
		valid := min(mr, pl.d-p*mr)
		vPacked := pl.vPacked[hi*pl.dPad*pl.lkPad:]
		dst := vPacked[p*mr*pl.lkPad : (p+1)*mr*pl.lkPad]
		panelDepth(dst, vh, pl.ld, p*mr, valid, 0, pl.lk, mr)
		clear(dst[pl.lk*mr:])
	})
}

// scratch is the per-task scratch size of queryBlock.
func (pl *attnPlan) scratch() int {
	return pl.bq*pl.d + pl.bk*pl.mk.nr + pl.dPad*pl.bq + 3*pl.bq
}

// queryBlock computes the outputs of queries [q0, q0+bq) of head hi.
func (pl *attnPlan) queryBlock(out, q []float32, q0, hi int, buf []float32) {
	mr, nr := pl.mk.mr, pl.mk.nr
	bq, bk, d, dPad := pl.bq, pl.bk, pl.d, pl.dPad
	nq := min(bq, pl.lq-q0)
	kPacked, vPacked := pl.kPacked[hi*pl.lkPad*d:], pl.vPacked[hi*dPad*pl.lkPad:]
	qp, rest := buf[:bq*d], buf[bq*d:]
	s, rest := rest[:bk*nr], rest[bk*nr:]
	o, rest := rest[:dPad*bq], rest[dPad*bq:]
	m, l, corr := rest[:bq], rest[bq:2*bq], rest[2*bq:3*bq]
	for p := 0; p < bq/nr; p++ {
		valid := max(0, min(nr, nq-p*nr))
		panelLanes(qp[p*nr*d:], q, pl.ld, q0+p*nr, valid, 0, d, nr)
	}
	clear(o)
	for i := range m {
		m[i], l[i] = float32(math.Inf(-1)), 0
	}
	kEnd := pl.lk
	if pl.causal {
		kEnd = min(kEnd, q0+nq)
	}
	for k0 := 0; k0 < kEnd; k0 += bk {
		kb := min(bk, pl.lkPad-k0) // keys in this block, a multiple of mr
		// One query panel at a time, so that its Pᵀ panel is still in L1
		// for the second product.
		for qpn := 0; qpn < ceilDiv(nq, nr); qpn++ { // panels past nq hold padding only
			qa := qpn * nr
			// Sᵀ panel: s[key][nr] = scale·log2(e) · K·Qᵀ.
			pl.mk.panels(kb/mr, d, kPacked[k0*d:], mr*d, qp[qa*d:], s, nr, pl.scale, 0, tileAdds{})
			pl.mask(s, k0, kb, q0+qa)
			lc := corr[qa : qa+nr]
			softmaxCols(s[:kb*nr], nr, m[qa:], l[qa:], lc)
			// Oᵀ = corr ⊙ Oᵀ + Vᵀ·Pᵀ on the panel's lanes; Oᵀ is zero in the
			// first block, and corr is all ones once the maxima settle.
			if k0 > 0 && !allOnes(lc) {
				for dd := range dPad {
					row := o[dd*bq+qa : dd*bq+qa+nr]
					for j, c := range lc {
						row[j] *= c
					}
				}
			}
			pl.mk.panels(dPad/mr, kb, vPacked[k0*mr:], mr*pl.lkPad, s, o[qa:], bq, 1, 1, tileAdds{})
		}
	}
	// out = Oᵀ / l, transposed: scale each row of Oᵀ by the lanes' 1/l,
	// then move it into the token rows (a strided gather per query was 5%
	// of the 4096-token self-attention).
	inv := corr[:nq]
	for i := range inv {
		inv[i] = 1 / l[i]
	}
	for dd := range d {
		row := o[dd*bq : dd*bq+nq]
		for i, c := range inv {
			row[i] *= c
		}
	}
	transposeTo(out[q0*pl.ld:], o, bq, pl.ld, d, nq)
}

// mask sets the scores of padding keys (≥ lk) and, if causal, of keys after
// their query to -Inf in one Sᵀ panel sp[key][nr] whose first query is qa.
func (pl *attnPlan) mask(sp []float32, k0, kb, qa int) {
	nr := pl.mk.nr
	if k0+kb <= pl.lk && (!pl.causal || k0+kb-1 <= qa) {
		return
	}
	inf := float32(math.Inf(-1))
	for kr := 0; kr < kb; kr++ {
		key := k0 + kr
		row := sp[kr*nr : (kr+1)*nr]
		switch {
		case key >= pl.lk:
			for j := range row {
				row[j] = inf
			}
		case pl.causal && key > qa:
			for j := range min(nr, key-qa) {
				row[j] = inf
			}
		}
	}
}

// allOnes reports whether every element of xs is 1.
func allOnes(xs []float32) bool {
	for _, x := range xs {
		if x != 1 {
			return false
		}
	}
	return true
}
