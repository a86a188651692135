//go:build !noasm

package kernels

import (
	"math"
	"testing"
)

// TestKernelSimulatorMatchesHardware runs sgemmKernelAVX2 on this CPU and
// in the simulator (asmsim_test.go) and requires the same bits, so that
// the simulator's reading of the instructions is the hardware's.
func TestKernelSimulatorMatchesHardware(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2/FMA on this CPU")
	}
	k := loadSimKernel(t, "sgemm_amd64.s", "sgemmKernelAVX2")
	forSimCases(6, 16, func(depth, n, as, ldc int, beta float32, a, b, c []float32, add tileAdds) {
		got := simCall(t, k, depth, a, b, c, ldc, 0.75, beta, n, as, add)
		hw := append([]float32(nil), c...)
		avx2Kernel.multi(n, depth, a, as, b, hw, ldc, 0.75, beta, add)
		for i := range hw {
			if math.Float32bits(got[i]) != math.Float32bits(hw[i]) {
				t.Fatalf("depth %d n %d beta %v adds %v: simulated C[%d] = %v, hardware %v", depth, n, beta, add.present(), i, got[i], hw[i])
			}
		}
	})
}
