package ops

import (
	"fmt"
	"slices"

	"github.com/roentgen-dev/roentgen/internal/kernels"
)

// Activation is a pointwise nonlinearity (kernels.Act), applied by Unary
// or fused into a Linear or Conv2D.
type Activation = kernels.Act

// The activations the networks use.
const (
	SiLU      = kernels.ActSiLU      // x·sigmoid(x)
	GELU      = kernels.ActGELU      // exact erf GELU
	QuickGELU = kernels.ActQuickGELU // x·sigmoid(1.702x)
)

// actNames are the activations' names in op timings.
var actNames = map[Activation]string{SiLU: "SiLU", GELU: "GELU", QuickGELU: "QuickGELU"}

// Unary applies an activation elementwise.
type Unary struct{ Act Activation }

func (u Unary) Name() string { return actNames[u.Act] }

func (u Unary) Plan(in [][]int) (Plan, error) {
	if len(in) != 1 {
		return Plan{}, badShapes(u, in, "want one input")
	}
	if _, ok := actNames[u.Act]; !ok {
		return Plan{}, badShapes(u, in, "unknown activation "+u.Act.String())
	}
	return Plan{Out: slices.Clone(in[0]), Run: func(o []float32, x [][]float32) { kernels.Activate(u.Act, o, x[0]) }}, nil
}

// GEGLU splits the last dimension in halves a, b and returns a·gelu(b).
type GEGLU struct{}

func (GEGLU) Name() string { return "GEGLU" }

func (g GEGLU) Plan(in [][]int) (Plan, error) {
	if len(in) != 1 || len(in[0]) == 0 || in[0][len(in[0])-1]%2 != 0 {
		return Plan{}, badShapes(g, in, "want [..., 2n]")
	}
	out := slices.Clone(in[0])
	n := out[len(out)-1] / 2
	out[len(out)-1] = n
	rows := numel(out) / n
	return Plan{Out: out, Run: func(o []float32, x [][]float32) { kernels.GEGLU(o, x[0], rows, n) }}, nil
}

// Add is the elementwise sum of two tensors of one size.
type Add struct{}

func (Add) Name() string { return "Add" }

func (a Add) Plan(in [][]int) (Plan, error) {
	if len(in) != 2 || numel(in[0]) != numel(in[1]) {
		return Plan{}, badShapes(a, in, "want two tensors of the same size")
	}
	return Plan{Out: slices.Clone(in[0]), Run: func(o []float32, x [][]float32) { kernels.Add(o, x[0], x[1]) }}, nil
}

// AddChannel adds t [N, C] to every position of x [N, C, ...] (a time
// embedding broadcast over H and W).
type AddChannel struct{}

func (AddChannel) Name() string { return "AddChannel" }

func (a AddChannel) Plan(in [][]int) (Plan, error) {
	if len(in) != 2 || len(in[0]) < 2 || len(in[1]) != 2 || in[0][0] != in[1][0] || in[0][1] != in[1][1] {
		return Plan{}, badShapes(a, in, "want x [N, C, ...] and t [N, C]")
	}
	nc := in[0][0] * in[0][1]
	hw := numel(in[0]) / nc
	return Plan{Out: slices.Clone(in[0]), Run: func(o []float32, x [][]float32) {
		for i := range nc {
			t := x[1][i]
			src, dst := x[0][i*hw:(i+1)*hw], o[i*hw:(i+1)*hw]
			for j, v := range src {
				dst[j] = v + t
			}
		}
	}}, nil
}

// Upsample resizes [N, C, H, W] to [N, C, OH, OW] with PyTorch's nearest rule.
type Upsample struct{ OH, OW int }

func (Upsample) Name() string { return "Upsample" }

func (u Upsample) Plan(in [][]int) (Plan, error) {
	if len(in) != 1 || len(in[0]) != 4 || u.OH <= 0 || u.OW <= 0 {
		return Plan{}, badShapes(u, in, "want [N, C, H, W]")
	}
	s := in[0]
	return Plan{Out: []int{s[0], s[1], u.OH, u.OW}, Run: func(o []float32, x [][]float32) {
		kernels.UpsampleNearest(o, x[0], s[0]*s[1], s[2], s[3], u.OH, u.OW)
	}}, nil
}

// Concat joins [N, Ci, ...] tensors along the channel dimension.
type Concat struct{}

func (Concat) Name() string { return "Concat" }

func (c Concat) Plan(in [][]int) (Plan, error) {
	if len(in) < 2 {
		return Plan{}, badShapes(c, in, "want two or more inputs")
	}
	out := slices.Clone(in[0])
	for _, s := range in[1:] {
		if len(s) != len(out) || s[0] != out[0] || !slices.Equal(s[2:], out[2:]) {
			return Plan{}, badShapes(c, in, "inputs differ outside the channel dimension")
		}
		out[1] += s[1]
	}
	n := out[0]
	return Plan{Out: out, Run: func(o []float32, x [][]float32) {
		off := 0
		for b := range n {
			for _, t := range x {
				per := len(t) / n
				off += copy(o[off:], t[b*per:(b+1)*per])
			}
		}
	}}, nil
}

// ToTokens turns [N, C, H, W] into the token layout [N, H*W, C].
type ToTokens struct{}

func (ToTokens) Name() string { return "ToTokens" }

func (t ToTokens) Plan(in [][]int) (Plan, error) {
	if len(in) != 1 || len(in[0]) != 4 {
		return Plan{}, badShapes(t, in, "want [N, C, H, W]")
	}
	n, c, hw := in[0][0], in[0][1], in[0][2]*in[0][3]
	return Plan{Out: []int{n, hw, c}, Run: func(o []float32, x [][]float32) { transpose(o, x[0], n, c, hw) }}, nil
}

// FromTokens turns [N, H*W, C] back into [N, C, H, W].
type FromTokens struct{ H, W int }

func (FromTokens) Name() string { return "FromTokens" }

func (f FromTokens) Plan(in [][]int) (Plan, error) {
	if len(in) != 1 || len(in[0]) != 3 || in[0][1] != f.H*f.W {
		return Plan{}, badShapes(f, in, fmt.Sprintf("want [N, %d, C]", f.H*f.W))
	}
	n, hw, c := in[0][0], in[0][1], in[0][2]
	return Plan{Out: []int{n, c, f.H, f.W}, Run: func(o []float32, x [][]float32) { transpose(o, x[0], n, hw, c) }}, nil
}

// transpose swaps the last two axes of [n, r, c] in tiles.
func transpose(dst, src []float32, n, r, c int) {
	const t = 32
	for b := range n {
		s, d := src[b*r*c:(b+1)*r*c], dst[b*r*c:(b+1)*r*c]
		for i0 := 0; i0 < r; i0 += t {
			for j0 := 0; j0 < c; j0 += t {
				for i := i0; i < min(i0+t, r); i++ {
					for j := j0; j < min(j0+t, c); j++ {
						d[j*r+i] = s[i*c+j]
					}
				}
			}
		}
	}
}

// Embed looks up token ids (given as float32, exact below 2^24) in Table
// [Vocab, Dim] and adds the position embedding Pos [MaxPos, Dim]:
// [B, L] → [B, L, Dim].
type Embed struct {
	Table kernels.Weights // fp16 rows are decoded as they are looked up
	Pos   []float32
	Dim   int
}

func (Embed) Name() string { return "Embed" }

func (e Embed) Plan(in [][]int) (Plan, error) {
	if len(in) != 1 || len(in[0]) != 2 || in[0][1]*e.Dim > len(e.Pos) {
		return Plan{}, badShapes(e, in, fmt.Sprintf("want ids [B, L] with L ≤ %d", len(e.Pos)/e.Dim))
	}
	b, l := in[0][0], in[0][1]
	vocab := e.Table.Len() / e.Dim
	return Plan{Out: []int{b, l, e.Dim}, Run: func(o []float32, x [][]float32) {
		for i, f := range x[0] {
			id := min(max(int(f), 0), vocab-1) // ids are checked by the caller
			dst, pos := o[i*e.Dim:(i+1)*e.Dim], e.Pos[(i%l)*e.Dim:]
			e.Table.Row(dst, id)
			for j := range dst {
				dst[j] += pos[j]
			}
		}
	}}, nil
}

// Scale multiplies by a constant.
type Scale struct{ S float32 }

func (Scale) Name() string { return "Scale" }

func (s Scale) Plan(in [][]int) (Plan, error) {
	if len(in) != 1 {
		return Plan{}, badShapes(s, in, "want one input")
	}
	return Plan{Out: slices.Clone(in[0]), Run: func(o []float32, x [][]float32) { kernels.Scale(o, s.S, x[0]) }}, nil
}
