package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/roentgen-dev/roentgen/internal/pipeline"
	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progress renders pipeline events on a terminal: a line per finished
// stage with its time, and a redrawn bar for the denoising steps.
type progress struct {
	w       io.Writer
	enabled bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, enabled: !quiet && isTerminal(w)}
}

func (p *progress) event(e pipeline.Event) {
	if !p.enabled {
		return
	}
	switch {
	case e.Stage == "denoise" && e.Step > 0:
		const width = 30
		done := width * e.Step / e.Total
		rate := float64(e.Step) / e.Elapsed.Seconds()
		eta := time.Duration(float64(e.Total-e.Step) / rate * float64(time.Second))
		fmt.Fprintf(p.w, "\rdenoise [%s%s] %d/%d  %.2f it/s  ETA %s ", strings.Repeat("=", done), strings.Repeat(" ", width-done),
			e.Step, e.Total, rate, eta.Round(time.Second))
	case e.Done && e.Stage == "denoise":
		fmt.Fprintf(p.w, "\n%-8s %8.2fs\n", e.Stage, e.Elapsed.Seconds())
	case e.Done:
		fmt.Fprintf(p.w, "%-8s %8.2fs\n", e.Stage, e.Elapsed.Seconds())
	}
}
