package nn

import (
	"math"

	"github.com/roentgen-dev/roentgen/internal/graph"
	"github.com/roentgen-dev/roentgen/internal/graph/ops"
	"github.com/roentgen-dev/roentgen/internal/kernels"
	"github.com/roentgen-dev/roentgen/internal/weights"
)

// Matrix returns a matrix weight for the kernels: fp16 stays fp16 (decoded
// while packing or looking up), anything else is float32, both read in
// place from the mapped file when possible.
func Matrix(t *weights.Tensor) kernels.Weights {
	if h := t.F16(); h != nil {
		return kernels.Weights{F16: h}
	}
	return kernels.Weights{F32: t.F32()}
}

// vec returns a small parameter vector as float32 (nil for a nil tensor).
func vec(t *weights.Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.F32()
}

// op is the layer as a graph kernel.
func (l *Linear) op() ops.Linear {
	return ops.Linear{W: Matrix(l.Weight), Bias: vec(l.Bias), In: l.In, Out: l.Out}
}

// Forward applies the layer to the last dimension of x.
func (l *Linear) Forward(b *graph.Builder, x *graph.Tensor) *graph.Tensor {
	return b.Apply(l.op(), x)
}

// ForwardAct is Forward followed by the activation act, applied as the
// product is stored (no pass or tensor of its own).
func (l *Linear) ForwardAct(b *graph.Builder, x *graph.Tensor, act ops.Activation) *graph.Tensor {
	op := l.op()
	op.Act = act
	return b.Apply(op, x)
}

// ForwardAdd is Forward plus residual (of the output's shape), added in
// the same pass.
func (l *Linear) ForwardAdd(b *graph.Builder, x, residual *graph.Tensor) *graph.Tensor {
	return b.Apply(l.op(), x, residual)
}

// FromChannels applies the layer to the pixels of x [N, In, H, W] as
// tokens: [N, H*W, Out], without a separate transpose.
func (l *Linear) FromChannels(b *graph.Builder, x *graph.Tensor) *graph.Tensor {
	return b.Apply(ops.ChannelsLinear(l.op()), x)
}

// ToChannels applies the layer to tokens x [N, H*W, In] and returns them
// as images [N, Out, H, W] plus residual (of that shape), without a
// separate transpose or add.
func (l *Linear) ToChannels(b *graph.Builder, x, residual *graph.Tensor) *graph.Tensor {
	s := residual.Shape
	return b.Apply(ops.LinearChannels{Linear: l.op(), Height: s[2], Width: s[3]}, x, residual)
}

// Forward convolves x [N, C, H, W]; a non-nil residual of the output's shape
// is added in the same pass.
func (c *Conv2d) Forward(b *graph.Builder, x, residual *graph.Tensor) *graph.Tensor {
	op := ops.Conv2D{W: Matrix(c.Weight), Bias: vec(c.Bias), Cin: c.In, Cout: c.Out, K: c.K, Stride: c.Stride, Pad: c.Pad}
	if residual != nil {
		return b.Apply(op, x, residual)
	}
	return b.Apply(op, x)
}

// Forward normalises x [N, C, ...], followed by SiLU when silu is set.
func (g *GroupNorm) Forward(b *graph.Builder, x *graph.Tensor, silu bool) *graph.Tensor {
	return b.Apply(ops.GroupNorm{Gamma: vec(g.Weight), Beta: vec(g.Bias), Groups: g.Groups, Eps: g.Eps, SiLU: silu}, x)
}

// Forward normalises the last dimension of x.
func (l *LayerNorm) Forward(b *graph.Builder, x *graph.Tensor) *graph.Tensor {
	return b.Apply(ops.LayerNorm{Gamma: vec(l.Weight), Beta: vec(l.Bias), Eps: l.Eps}, x)
}

// Forward computes the resnet on x [N, C, H, W]; tembAct is SiLU(time
// embedding) [N, T], or nil without one.
func (r *ResnetBlock2D) Forward(b *graph.Builder, x, tembAct *graph.Tensor) *graph.Tensor {
	// A projected shortcut goes first, so that x's last use is norm1, which
	// then normalises it in place: x, its normalised copy and conv1's output
	// are never live at once (this was the VAE decoder's arena peak, in its
	// first 512 px resnet).
	shortcut := x
	if r.ConvShortcut != nil {
		shortcut = r.ConvShortcut.Forward(b, x, nil)
	}
	h := r.Norm1.Forward(b, x, true)
	h = r.Conv1.Forward(b, h, nil)
	if r.TimeEmbProj != nil {
		t := r.TimeEmbProj.Forward(b, tembAct) // [N, Cout]
		h = b.Apply(ops.AddChannel{}, h, t)
	}
	h = r.Norm2.Forward(b, h, true)
	h = r.Conv2.Forward(b, h, shortcut) // conv2(h) + shortcut
	if r.OutputScale != 1 {
		h = b.Apply(ops.Scale{S: 1 / r.OutputScale}, h)
	}
	return h
}

// Forward halves the spatial size.
func (d *Downsample2D) Forward(b *graph.Builder, x *graph.Tensor) *graph.Tensor {
	return d.Conv.Forward(b, x, nil)
}

// Forward resizes x to oh x ow by nearest neighbour, then convolves.
func (u *Upsample2D) Forward(b *graph.Builder, x *graph.Tensor, oh, ow int) *graph.Tensor {
	h := b.Apply(ops.Upsample{OH: oh, OW: ow}, x)
	return u.Conv.Forward(b, h, nil)
}

// Forward attends from x [B, L, C] to ctx [B, Lk, Cctx] (ctx = x for
// self-attention); causal masks later keys. A non-nil residual (of x's
// shape) is added by the output projection.
func (a *Attention) Forward(b *graph.Builder, x, ctx, residual *graph.Tensor, causal bool) *graph.Tensor {
	q := a.ToQ.Forward(b, x)
	k := a.ToK.Forward(b, ctx)
	v := a.ToV.Forward(b, ctx)
	scale := float32(1 / math.Sqrt(float64(a.HeadDim)))
	o := b.Apply(ops.Attention{Heads: a.Heads, Scale: scale, Causal: causal}, q, k, v) // [B, L, heads*d]
	if residual != nil {
		return a.ToOut.ForwardAdd(b, o, residual)
	}
	return a.ToOut.Forward(b, o)
}
