package kernels

import "math"

// rescaleSlack is how far (in log2 space: Attention's scores are scaled by
// log2(e) so that the softmax can use 2^x) scores may exceed a lane's
// reference maximum before Attention rescales that lane.
const rescaleSlack = 8

// softmaxColsGo is the online-softmax step of Attention for one Sᵀ panel
// s[key][w] (w query lanes): with m, l the running reference maximum and sum
// of each lane, it sets
//
//	mx = max_key s[key]
//	mNew = mx if mx > m + rescaleSlack, else m
//	corr = 2^(m - mNew)
//	s[key] = 2^(s[key] - mNew)
//	l = l*corr + Σ_key s[key];  m = mNew
//
// The reference maximum only moves when the scores outgrow it by
// rescaleSlack, so most blocks leave corr at exactly 1 and the output needs
// no rescaling (the lazy rescaling of FlashAttention-4); probabilities then
// stay below 2^rescaleSlack, far from overflow. A lane that has seen only
// -Inf scores keeps m = -Inf, gets p = 0 and corr = 1, and its sum stays 0.
func softmaxColsGo(s []float32, w int, m, l, corr []float32) {
	rows := len(s) / w
	m, l, corr = m[:w], l[:w], corr[:w]
	var mx, sum [64]float32 // w ≤ 64: w is a micro-kernel's nr
	copy(mx[:w], m)
	for r := range rows {
		for j, v := range s[r*w : r*w+w] {
			mx[j] = max(mx[j], v)
		}
	}
	for j := range w {
		if !(mx[j] > m[j]+rescaleSlack) {
			mx[j] = m[j]
		}
		if math.IsInf(float64(mx[j]), -1) {
			corr[j] = 1
			continue
		}
		corr[j] = exp2For(m[j] - mx[j])
	}
	for r := range rows {
		row := s[r*w : r*w+w]
		for j, v := range row {
			e := float32(0)
			if !math.IsInf(float64(mx[j]), -1) {
				e = exp2For(v - mx[j])
			}
			row[j] = e
			sum[j] += e
		}
	}
	for j := range w {
		l[j] = l[j]*corr[j] + sum[j]
		m[j] = mx[j]
	}
}
