package unet

import (
	"github.com/roentgen-dev/roentgen/internal/nn"
	"github.com/roentgen-dev/roentgen/internal/weights"
)

// DownBlock is CrossAttnDownBlock2D (Attentions set) or DownBlock2D.
type DownBlock struct {
	Resnets     []*nn.ResnetBlock2D
	Attentions  []*Transformer2D
	Downsampler *nn.Downsample2D
}

func newDownBlock(s weights.Scope, a Arch, b Block) *DownBlock {
	d := &DownBlock{}
	ro := nn.ResnetOptions{Groups: a.Groups, Eps: a.Eps, TembC: a.TimeDim, OutputScale: 1}
	for j := range b.Layers {
		in := b.Out
		if j == 0 {
			in = b.In
		}
		d.Resnets = append(d.Resnets, nn.NewResnetBlock2D(s.Sub("resnets").Index(j), in, b.Out, ro))
		if b.CrossAttn {
			d.Attentions = append(d.Attentions, newTransformer2D(s.Sub("attentions").Index(j), a, b, b.Out))
		}
	}
	if b.Resample {
		d.Downsampler = nn.NewDownsample2D(s.Sub("downsamplers").Index(0), b.Out, a.DownPadding)
	}
	return d
}

// MidBlock is UNetMidBlock2DCrossAttn: resnet, then (transformer, resnet)
// pairs.
type MidBlock struct {
	Resnets    []*nn.ResnetBlock2D
	Attentions []*Transformer2D
}

func newMidBlock(s weights.Scope, a Arch) *MidBlock {
	b := a.Mid
	ro := nn.ResnetOptions{Groups: a.Groups, Eps: a.Eps, TembC: a.TimeDim, OutputScale: a.MidScale}
	m := &MidBlock{Resnets: []*nn.ResnetBlock2D{nn.NewResnetBlock2D(s.Sub("resnets").Index(0), b.In, b.In, ro)}}
	for j := range b.Layers {
		m.Attentions = append(m.Attentions, newTransformer2D(s.Sub("attentions").Index(j), a, b, b.In))
		m.Resnets = append(m.Resnets, nn.NewResnetBlock2D(s.Sub("resnets").Index(j+1), b.In, b.In, ro))
	}
	return m
}

// UpBlock is CrossAttnUpBlock2D (Attentions set) or UpBlock2D. Resnet j
// takes the previous output concatenated with skip tensor j.
type UpBlock struct {
	Resnets    []*nn.ResnetBlock2D
	Attentions []*Transformer2D
	Upsampler  *nn.Upsample2D
}

func newUpBlock(s weights.Scope, a Arch, b Block) *UpBlock {
	u := &UpBlock{}
	ro := nn.ResnetOptions{Groups: a.Groups, Eps: a.Eps, TembC: a.TimeDim, OutputScale: 1}
	for j := range b.Layers {
		skip, in := b.Out, b.Out
		if j == b.Layers-1 {
			skip = b.In
		}
		if j == 0 {
			in = b.Prev
		}
		u.Resnets = append(u.Resnets, nn.NewResnetBlock2D(s.Sub("resnets").Index(j), in+skip, b.Out, ro))
		if b.CrossAttn {
			u.Attentions = append(u.Attentions, newTransformer2D(s.Sub("attentions").Index(j), a, b, b.Out))
		}
	}
	if b.Resample {
		u.Upsampler = nn.NewUpsample2D(s.Sub("upsamplers").Index(0), b.Out)
	}
	return u
}
