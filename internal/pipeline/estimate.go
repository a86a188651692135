package pipeline

// Estimate is a generation's expected memory use, in bytes.
type Estimate struct {
	Weights, UNet, VAE, Total int64
}

// EstimateMemory predicts the resident memory of one width x height
// generation with the given U-Net batch (2 with classifier-free guidance):
// the weights as held (fp16 and f32 read in place from the mapped files)
// plus the larger of the U-Net and VAE working sets. The working sets count the tensors that are alive at once:
// the U-Net's skip connections plus a few activations of the widest layer
// (attention runs in key tiles, so no score matrix is counted), and the
// VAE's widest upsampled activation about four times over.
func (m *Models) EstimateMemory(width, height, batch int) Estimate {
	const f32 = 4
	var e Estimate
	for _, s := range m.sets {
		e.Weights += s.UsedBytes()
	}
	sf := m.VAEArch.ScaleFactor()
	h, w := int64(height/sf), int64(width/sf)
	b := int64(batch)
	a := m.UNetArch
	skips := int64(a.C0) * h * w
	widest := skips
	ph, pw := h, w
	for _, blk := range a.Down {
		px := ph * pw
		skips += int64(blk.Layers*blk.Out) * px
		widest = max(widest, int64(blk.Out)*px)
		if blk.CrossAttn {
			widest = max(widest, int64(8*blk.Out)*px) // GEGLU projection
		}
		if blk.Resample {
			ph, pw = (ph+1)/2, (pw+1)/2
			skips += int64(blk.Out) * ph * pw
		}
	}
	e.UNet = (skips + 4*widest) * b * f32
	va := m.VAEArch
	ch := va.Channels
	vh, vw := h, w
	vwidest := int64(ch[len(ch)-1]) * vh * vw
	for i := len(ch) - 1; i >= 0; i-- {
		vwidest = max(vwidest, int64(ch[i])*vh*vw)
		if i > 0 {
			vh, vw = 2*vh, 2*vw
			vwidest = max(vwidest, int64(ch[i])*vh*vw)
		}
	}
	e.VAE = 4 * vwidest * f32
	e.Total = e.Weights + max(e.UNet, e.VAE)
	return e
}
