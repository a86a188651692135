package weights

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the header validation (safetensors,
// and PyTorch checkpoints through the zip reader and the unpickler) and reads every
// tensor it accepts: no input may panic, and an accepted tensor's bytes lie
// inside the image.
func FuzzParse(f *testing.F) {
	hdr := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1,1],"data_offsets":[8,10]},"__metadata__":{"format":"pt"}}`
	f.Add(append(append(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr))), hdr...), make([]byte, 10)...))
	f.Add(binary.LittleEndian.AppendUint64(nil, 2))
	f.Add([]byte("garbage"))
	for _, name := range []string{"state.bin", "fortran.bin"} { // PyTorch checkpoints
		img, err := os.ReadFile(filepath.Join(torchData, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(img)
	}
	f.Fuzz(func(t *testing.T, img []byte) {
		file, err := Parse("fuzz", img)
		if err != nil {
			return
		}
		for _, n := range file.Names() {
			b, in, err := file.Bytes(n)
			if err != nil || int64(len(b)) != in.End-in.Begin {
				t.Fatalf("%s: %v", n, err)
			}
			if in.DType.IsFloat() {
				if v, err := file.Float32(n); err != nil || int64(len(v)) != in.Numel() {
					t.Fatalf("%s: %v", n, err)
				}
			}
		}
	})
}
