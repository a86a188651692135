package nn

import "github.com/roentgen-dev/roentgen/internal/weights"

// ResnetBlock2D is diffusers' ResnetBlock2D (resnet_time_scale_shift
// "default"): norm1 → SiLU → conv1 (+ time_emb_proj(SiLU(temb))) → norm2 →
// SiLU → conv2, plus the input (through conv_shortcut when channels change),
// divided by OutputScale.
type ResnetBlock2D struct {
	Norm1        *GroupNorm
	Conv1        *Conv2d
	TimeEmbProj  *Linear // nil without a time embedding (VAE)
	Norm2        *GroupNorm
	Conv2        *Conv2d
	ConvShortcut *Conv2d // nil when In == Out
	OutputScale  float32
}

// ResnetOptions are the hyperparameters a block passes to its resnets.
type ResnetOptions struct {
	Groups      int
	Eps         float32
	TembC       int // 0: no time embedding
	OutputScale float32
}

// NewResnetBlock2D declares a resnet from in to out channels.
func NewResnetBlock2D(s weights.Scope, in, out int, o ResnetOptions) *ResnetBlock2D {
	r := &ResnetBlock2D{
		Norm1:       NewGroupNorm(s.Sub("norm1"), o.Groups, in, o.Eps),
		Conv1:       NewConv2d(s.Sub("conv1"), in, out, 3, 1, 1),
		Norm2:       NewGroupNorm(s.Sub("norm2"), o.Groups, out, o.Eps),
		Conv2:       NewConv2d(s.Sub("conv2"), out, out, 3, 1, 1),
		OutputScale: o.OutputScale,
	}
	if o.TembC > 0 {
		r.TimeEmbProj = NewLinear(s.Sub("time_emb_proj"), o.TembC, out, true)
	}
	if in != out {
		r.ConvShortcut = NewConv2d(s.Sub("conv_shortcut"), in, out, 1, 1, 0)
	}
	return r
}

// Downsample2D is a stride-2 3x3 convolution (diffusers' Downsample2D with
// use_conv=True).
type Downsample2D struct{ Conv *Conv2d }

// NewDownsample2D declares a downsampler with the given padding.
func NewDownsample2D(s weights.Scope, c, pad int) *Downsample2D {
	return &Downsample2D{Conv: NewConv2d(s.Sub("conv"), c, c, 3, 2, pad)}
}

// Upsample2D is nearest-neighbour upsampling then a 3x3 convolution.
type Upsample2D struct{ Conv *Conv2d }

// NewUpsample2D declares an upsampler.
func NewUpsample2D(s weights.Scope, c int) *Upsample2D {
	return &Upsample2D{Conv: NewConv2d(s.Sub("conv"), c, c, 3, 1, 1)}
}
