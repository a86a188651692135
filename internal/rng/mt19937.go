package rng

// mt19937 is the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998) with
// the reference init_genrand seeding, as in torch's at::mt19937.
type mt19937 struct {
	state [mtN]uint32
	index int // next state word to temper; mtN means "twist first"
}

const (
	mtN        = 624
	mtM        = 397
	mtMatrixA  = 0x9908b0df
	mtUpper    = 0x80000000
	mtLower    = 0x7fffffff
	mtInitMult = 1812433253
)

// seed is init_genrand: state[0] = s, state[i] = 1812433253 *
// (state[i-1] ^ state[i-1]>>30) + i, all mod 2^32.
func (m *mt19937) seed(s uint32) {
	m.state[0] = s
	for i := 1; i < mtN; i++ {
		prev := m.state[i-1]
		m.state[i] = mtInitMult*(prev^prev>>30) + uint32(i)
	}
	m.index = mtN
}

// twist regenerates all 624 state words.
func (m *mt19937) twist() {
	for i := 0; i < mtN; i++ {
		y := m.state[i]&mtUpper | m.state[(i+1)%mtN]&mtLower
		v := m.state[(i+mtM)%mtN] ^ y>>1
		if y&1 != 0 {
			v ^= mtMatrixA
		}
		m.state[i] = v
	}
	m.index = 0
}

// next returns the next tempered 32-bit output.
func (m *mt19937) next() uint32 {
	if m.index >= mtN {
		m.twist()
	}
	y := m.state[m.index]
	m.index++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}
