package ops

import (
	"fmt"
	"slices"

	"github.com/roentgen-dev/roentgen/internal/kernels"
)

// Linear is y = x·Wᵀ + b over the last dimension: [..., In] → [..., Out],
// followed by Act (none when zero) as the product is stored.
type Linear struct {
	W       kernels.Weights
	Bias    []float32
	In, Out int
	Act     Activation
}

func (Linear) Name() string { return "Linear" }

// Plan takes x [..., In] and, optionally, a residual of the output's shape
// [..., Out], which is added as the product is stored.
func (l Linear) Plan(in [][]int) (Plan, error) {
	if len(in) < 1 || len(in) > 2 || len(in[0]) == 0 || in[0][len(in[0])-1] != l.In {
		return Plan{}, badShapes(l, in, fmt.Sprintf("want [..., %d] and optionally a residual [..., %d]", l.In, l.Out))
	}
	out := append([]int(nil), in[0]...)
	out[len(out)-1] = l.Out
	rows := numel(in[0]) / l.In
	if len(in) == 2 {
		if !slices.Equal(in[1], out) {
			return Plan{}, badShapes(l, in, fmt.Sprintf("want a residual of the output's shape %v", out))
		}
		if l.Act != kernels.ActNone {
			return Plan{}, badShapes(l, in, "a residual and an activation together are not supported")
		}
		return Plan{Out: out, FLOPs: l.flops(rows), Shape: l.shape(rows), Run: func(o []float32, x [][]float32) {
			kernels.LinearAdd(o, x[0], l.W, l.Bias, x[1], rows, l.In, l.Out)
		}}, nil
	}
	return Plan{Out: out, FLOPs: l.flops(rows), Label: withAct("Linear", l.Act), Shape: l.shape(rows), Run: func(o []float32, x [][]float32) {
		kernels.LinearAct(o, x[0], l.W, l.Bias, l.Act, rows, l.In, l.Out)
	}}, nil
}

// withAct is an op's timing label with its fused activation, if any.
func withAct(label string, act Activation) string {
	if act == kernels.ActNone {
		return label
	}
	return label + "+" + actNames[act]
}

// flops is the arithmetic of the layer over rows tokens.
func (l Linear) flops(rows int) int64 { return 2 * int64(rows) * int64(l.In) * int64(l.Out) }

// shape is rows×In→Out, for op timings by shape.
func (l Linear) shape(rows int) string { return fmt.Sprintf("%dx%d->%d", rows, l.In, l.Out) }

// ChannelsLinear is Linear over the pixels of channel-major images:
// [N, In, H, W] → tokens [N, H*W, Out], as ToTokens then Linear.
type ChannelsLinear Linear

func (ChannelsLinear) Name() string { return "ChannelsLinear" }

func (l ChannelsLinear) Plan(in [][]int) (Plan, error) {
	if len(in) != 1 || len(in[0]) != 4 || in[0][1] != l.In {
		return Plan{}, badShapes(l, in, fmt.Sprintf("want [N, %d, H, W]", l.In))
	}
	if l.Act != kernels.ActNone {
		return Plan{}, badShapes(l, in, "a fused activation is not supported")
	}
	n, hw := in[0][0], in[0][2]*in[0][3]
	return Plan{Out: []int{n, hw, l.Out}, FLOPs: Linear(l).flops(n * hw), Shape: Linear(l).shape(n * hw), Run: func(o []float32, x [][]float32) {
		kernels.LinearFromChannels(o, x[0], l.W, l.Bias, n, hw, l.In, l.Out)
	}}, nil
}

// LinearChannels is Linear over tokens written as channel-major images,
// plus a residual image: [N, H*W, In] and [N, Out, H, W] → [N, Out, H, W],
// as Linear, FromTokens and Add.
type LinearChannels struct {
	Linear
	Height, Width int
}

func (LinearChannels) Name() string { return "LinearChannels" }

// Plan shadows Linear.Plan: the inputs and the output are images.
func (l LinearChannels) Plan(in [][]int) (Plan, error) {
	hw := l.Height * l.Width
	out := []int{0, l.Out, l.Height, l.Width}
	if len(in) == 2 && len(in[0]) == 3 {
		out[0] = in[0][0]
	}
	if len(in) != 2 || len(in[0]) != 3 || in[0][1] != hw || in[0][2] != l.In || !slices.Equal(in[1], out) {
		return Plan{}, badShapes(l, in, fmt.Sprintf("want [N, %d, %d] and a residual [N, %d, %d, %d]", hw, l.In, l.Out, l.Height, l.Width))
	}
	if l.Act != kernels.ActNone {
		return Plan{}, badShapes(l, in, "a fused activation is not supported")
	}
	n := out[0]
	return Plan{Out: out, FLOPs: l.flops(n * hw), Shape: l.shape(n * hw), Run: func(o []float32, x [][]float32) {
		kernels.LinearToChannels(o, x[0], l.W, l.Bias, x[1], n, hw, l.In, l.Out)
	}}, nil
}

// Conv2D is a square-kernel convolution of [N, Cin, H, W] with zero padding
// plus bias; a second input of the output's shape is added as a residual,
// and then Act (none when zero) is applied as the outputs are finished.
type Conv2D struct {
	W                         kernels.Weights
	Bias                      []float32
	Cin, Cout, K, Stride, Pad int
	Act                       Activation
}

func (Conv2D) Name() string { return "Conv2D" }

func (c Conv2D) Plan(in [][]int) (Plan, error) {
	if len(in) < 1 || len(in) > 2 || len(in[0]) != 4 || in[0][1] != c.Cin {
		return Plan{}, badShapes(c, in, fmt.Sprintf("want [N, %d, H, W] and an optional residual", c.Cin))
	}
	s := in[0]
	p := kernels.Conv2DParams{N: s[0], Cin: c.Cin, H: s[2], W: s[3], Cout: c.Cout, KH: c.K, KW: c.K, Stride: c.Stride, Pad: c.Pad, Act: c.Act}
	oh, ow := p.OutHW()
	if oh <= 0 || ow <= 0 {
		return Plan{}, badShapes(c, in, "input smaller than the kernel")
	}
	out := []int{s[0], c.Cout, oh, ow}
	if len(in) == 2 && numel(in[1]) != numel(out) {
		return Plan{}, badShapes(c, in, fmt.Sprintf("residual does not match the output %v", out))
	}
	flops := 2 * int64(numel(out)) * int64(c.Cin*c.K*c.K)
	label := withAct(fmt.Sprintf("Conv2D %dx%d %s", c.K, c.K, kernels.Conv2DAlgorithm(p)), c.Act)
	shape := fmt.Sprintf("%d->%d at %dx%d, %d images", c.Cin, c.Cout, s[2], s[3], s[0])
	return Plan{Out: out, FLOPs: flops, Label: label, Shape: shape, Run: func(o []float32, x [][]float32) {
		var res []float32
		if len(x) == 2 {
			res = x[1]
		}
		kernels.Conv2D(o, x[0], c.W, c.Bias, res, p)
	}}, nil
}

// Attention is multi-head softmax(q·kᵀ·Scale)·v on token-major tensors:
// q [B, Lq, Heads*D], k and v [B, Lk, Heads*D] → [B, Lq, Heads*D].
type Attention struct {
	Heads  int
	Scale  float32
	Causal bool
}

func (Attention) Name() string { return "Attention" }

func (a Attention) Plan(in [][]int) (Plan, error) {
	if len(in) != 3 || len(in[0]) != 3 || len(in[1]) != 3 || len(in[2]) != 3 {
		return Plan{}, badShapes(a, in, "want q [B, Lq, C], k and v [B, Lk, C]")
	}
	q, k, v := in[0], in[1], in[2]
	if q[0] != k[0] || k[0] != v[0] || k[1] != v[1] || q[2] != k[2] || k[2] != v[2] || q[2]%a.Heads != 0 {
		return Plan{}, badShapes(a, in, fmt.Sprintf("q, k, v disagree or width not divisible by %d heads", a.Heads))
	}
	b, lq, lk, d := q[0], q[1], k[1], q[2]/a.Heads
	flops := 4 * int64(b) * int64(a.Heads) * int64(lq) * int64(lk) * int64(d)
	shape := fmt.Sprintf("%dx%d heads, %d queries, %d keys, d=%d", b, a.Heads, lq, lk, d)
	return Plan{Out: append([]int(nil), q...), FLOPs: flops, Shape: shape, Run: func(o []float32, x [][]float32) {
		kernels.Attention(o, x[0], x[1], x[2], b, lq, lk, a.Heads, d, a.Scale, a.Causal)
	}}, nil
}
