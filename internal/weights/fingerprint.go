package weights

import (
	"fmt"
	"io"
)

// Fingerprint writes a cheap identity of the file to w: every header entry
// (name, dtype, shape, offsets) and a 4 KiB sample of the data area every
// 1 MiB plus its last 4 KiB. Two checkpoints with one architecture (a base
// model and its fine-tune) differ in the samples, since fine-tuning moves
// every weight; reading ~0.4% of the file keeps it fast on multi-GB models.
func (f *File) Fingerprint(w io.Writer) {
	for _, n := range f.order {
		in := f.tensors[n]
		fmt.Fprintf(w, "%s %s %v %d %d\n", n, in.DType, in.Shape, in.Begin, in.End)
	}
	const sample, stride = 4 << 10, 1 << 20
	for off := 0; off < len(f.data); off += stride {
		w.Write(f.data[off:min(off+sample, len(f.data))])
	}
	w.Write(f.data[max(0, len(f.data)-sample):])
}
