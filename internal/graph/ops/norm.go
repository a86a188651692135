package ops

import (
	"fmt"

	"github.com/roentgen-dev/roentgen/internal/kernels"
)

// GroupNorm normalises [N, C, ...] over groups of channels, then applies the
// per-channel affine and, if SiLU is set, x·sigmoid(x).
type GroupNorm struct {
	Gamma, Beta []float32
	Groups      int
	Eps         float32
	SiLU        bool
}

func (GroupNorm) Name() string { return "GroupNorm" }

func (g GroupNorm) Plan(in [][]int) (Plan, error) {
	if len(in) != 1 || len(in[0]) < 2 || in[0][1] != len(g.Gamma) || in[0][1]%g.Groups != 0 {
		return Plan{}, badShapes(g, in, fmt.Sprintf("want [N, %d, ...] with %d groups", len(g.Gamma), g.Groups))
	}
	n, c := in[0][0], in[0][1]
	hw := numel(in[0]) / (n * c)
	return Plan{Out: append([]int(nil), in[0]...), InPlace: true, Run: func(o []float32, x [][]float32) {
		kernels.GroupNorm(o, x[0], g.Gamma, g.Beta, n, c, hw, g.Groups, g.Eps, g.SiLU)
	}}, nil
}

// LayerNorm normalises the last dimension.
type LayerNorm struct {
	Gamma, Beta []float32
	Eps         float32
}

func (LayerNorm) Name() string { return "LayerNorm" }

func (l LayerNorm) Plan(in [][]int) (Plan, error) {
	c := len(l.Gamma)
	if len(in) != 1 || len(in[0]) == 0 || in[0][len(in[0])-1] != c {
		return Plan{}, badShapes(l, in, fmt.Sprintf("want [..., %d]", c))
	}
	rows := numel(in[0]) / c
	return Plan{Out: append([]int(nil), in[0]...), Run: func(o []float32, x [][]float32) {
		kernels.LayerNorm(o, x[0], l.Gamma, l.Beta, rows, c, l.Eps)
	}}, nil
}
