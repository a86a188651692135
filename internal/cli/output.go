package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/roentgen-dev/roentgen/internal/dicom"
	"github.com/roentgen-dev/roentgen/internal/imageio"
)

// imageEncoder returns the writer of one output image: a PNG in pngFormat
// with params in its tEXt chunk, or (format "dcm") a DICOM Secondary
// Capture of the gray image at bitDepth carrying the same parameters.
func imageEncoder(format string, pngFormat imageio.Format, bitDepth int, img imageio.Image, params map[string]any, patientID string) func(io.Writer) error {
	if format != "dcm" {
		return func(out io.Writer) error { return imageio.EncodePNG(out, img, pngFormat, params) }
	}
	meta := dicom.Meta{Prompt: fmt.Sprint(params["prompt"]), NegativePrompt: fmt.Sprint(params["negative_prompt"]), PatientID: patientID,
		Model: fmt.Sprintf("%s (%v)", params["model"], params["model_fingerprint"]), Software: VersionString()}
	if s, ok := params["seed"].(uint64); ok {
		meta.Seed = s
	}
	if js, err := json.Marshal(params); err == nil {
		meta.Parameters = string(js)
	}
	return func(out io.Writer) error {
		if bitDepth == 16 {
			return dicom.Write(out, img.Gray16(), img.W, img.H, meta)
		}
		return dicom.Write(out, imageio.Gray8(img.RGB8()), img.W, img.H, meta)
	}
}
