package unet

import (
	"fmt"

	"github.com/roentgen-dev/roentgen/internal/nn"
	"github.com/roentgen-dev/roentgen/internal/weights"
)

// Model is UNet2DConditionModel: it predicts the noise (or v, or x0) in a
// latent at a timestep, conditioned on text embeddings.
type Model struct {
	Arch        Arch
	ConvIn      *nn.Conv2d
	TimeLinear1 *nn.Linear // time_embedding.linear_1
	TimeLinear2 *nn.Linear // time_embedding.linear_2
	DownBlocks  []*DownBlock
	MidBlock    *MidBlock
	UpBlocks    []*UpBlock
	ConvNormOut *nn.GroupNorm
	ConvOut     *nn.Conv2d
}

// New declares every weight of the model described by a in set and checks
// that the set holds exactly those tensors with those shapes.
func New(set *weights.Set, a Arch) (*Model, error) {
	s := set.Root()
	m := &Model{
		Arch:        a,
		ConvIn:      nn.NewConv2d(s.Sub("conv_in"), a.In, a.C0, a.ConvIn, 1, a.ConvIn/2),
		TimeLinear1: nn.NewLinear(s.Sub("time_embedding").Sub("linear_1"), a.C0, a.TimeDim, true),
		TimeLinear2: nn.NewLinear(s.Sub("time_embedding").Sub("linear_2"), a.TimeDim, a.TimeDim, true),
	}
	for i, b := range a.Down {
		m.DownBlocks = append(m.DownBlocks, newDownBlock(s.Sub("down_blocks").Index(i), a, b))
	}
	m.MidBlock = newMidBlock(s.Sub("mid_block"), a)
	for i, b := range a.Up {
		m.UpBlocks = append(m.UpBlocks, newUpBlock(s.Sub("up_blocks").Index(i), a, b))
	}
	m.ConvNormOut = nn.NewGroupNorm(s.Sub("conv_norm_out"), a.Groups, a.C0, a.Eps)
	m.ConvOut = nn.NewConv2d(s.Sub("conv_out"), a.C0, a.Out, a.ConvOut, 1, a.ConvOut/2)
	if err := set.Check(); err != nil {
		return nil, fmt.Errorf("unet weights do not match the config: %w", err)
	}
	return m, nil
}
