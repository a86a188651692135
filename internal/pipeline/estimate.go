package pipeline

import (
	"fmt"

	"github.com/roentgen-dev/roentgen/internal/kernels"
)

// Estimate is a generation's expected peak resident memory, in bytes.
type Estimate struct {
	Weights    int64 `json:"weights"`     // every network's weights as held (fp16 and f32 read in place from the mapped files)
	UNet       int64 `json:"unet"`        // the denoising stage's activations: the U-Net's arena and kernel scratch
	VAEWeights int64 `json:"vae_weights"` // the VAE's share of Weights
	VAE        int64 `json:"vae"`         // the decoding stage's activations: the VAE decoder's arena and kernel scratch
	Total      int64 `json:"total"`       // the larger stage: Weights + UNet, or VAEWeights + VAE
}

// EstimateMemory predicts the peak resident memory of one width x height
// generation with the given U-Net batch (2 with classifier-free guidance).
// The stages run one at a time, and the denoising stage hands its weights
// and activations back before the decoder runs (Pipeline.run), so the peak
// is the larger stage: all weights (the load reads every one) plus the
// U-Net's working set, or the VAE's weights plus its own. Each arena is
// planned from the network's graph at that size exactly (graph.PlanBytes).
// Kernel scratch, which the free list keeps per size class for the whole
// stage (Winograd transforms, packed panels, attention's keys and values),
// the text encoder's arena and the Go heap are an allowance (scratch).
func (m *Models) EstimateMemory(width, height, batch int) (Estimate, error) {
	var e Estimate
	for i, s := range m.sets {
		e.Weights += s.UsedBytes()
		if m.Components[i].Name == "vae" {
			e.VAEWeights = s.UsedBytes()
		}
	}
	sf := m.VAEArch.ScaleFactor()
	h, w := height/sf, width/sf
	unet, err := m.UNet.ArenaBytes(batch, h, w, m.TextArch.MaxPos)
	if err != nil {
		return e, fmt.Errorf("memory estimate: %w", err)
	}
	vae, err := m.VAE.ArenaBytes(1, h, w) // the decoder takes one image at a time
	if err != nil {
		return e, fmt.Errorf("memory estimate: %w", err)
	}
	e.UNet = unet + scratch(unet, 3, 4)
	e.VAE = vae + scratch(vae, 1, 8)
	e.Total = max(e.Weights+e.UNet, e.VAEWeights+e.VAE)
	return e, nil
}

// scratch is the allowance over an arena of the given size: 256 MiB, 32
// MiB per worker thread and num/den of the arena. Peak RSS of SD 1.5, 2
// threads, against weights plus U-Net arena: 0.09 GiB over at 256x256
// (arena 0.05 GiB), 0.18 at 512 (0.17), 0.52 at 768 (0.37: the 640-channel
// convolutions leave winogradFew), 0.53 at 1024 (0.64), so 3/4 for the
// U-Net; the VAE's scratch is small against its arena (2.0 GiB at 1024).
func scratch(arena, num, den int64) int64 {
	return 256<<20 + int64(kernels.Threads())*32<<20 + arena*num/den
}
