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
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	return err == nil
}

// progress renders pipeline events: on a terminal a line per finished
// stage and a redrawn bar for the denoising steps; elsewhere (a Slurm or
// CI log) plain "roentgen:" lines, the denoising steps at most one every
// logEvery, so that a long run shows it is alive without flooding the log.
type progress struct {
	w        io.Writer
	mode     progressMode
	logEvery time.Duration
	lastLog  time.Duration // Elapsed of the last step line in log mode
}

// progressMode is how progress is shown: not at all (--quiet), as a
// redrawn terminal line, or as log lines.
type progressMode int

const (
	progressOff progressMode = iota
	progressTerminal
	progressLog
)

// logEvery is the least time between two progress lines in a log.
const logEvery = 30 * time.Second

func modeFor(w io.Writer, quiet bool) progressMode {
	switch {
	case quiet:
		return progressOff
	case isTerminal(w):
		return progressTerminal
	}
	return progressLog
}

func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, mode: modeFor(w, quiet), logEvery: logEvery}
}

// bar draws done of total as a 30-character terminal progress bar.
func bar(done, total int) string {
	const width = 30
	n := width * done / max(total, 1)
	return strings.Repeat("=", n) + strings.Repeat(" ", width-n)
}

// eta is the time the remaining steps take at the rate so far.
func eta(done, total int, elapsed time.Duration) time.Duration {
	if done <= 0 {
		return 0
	}
	return (elapsed * time.Duration(total-done) / time.Duration(done)).Round(time.Second)
}

func (p *progress) event(e pipeline.Event) {
	switch p.mode {
	case progressTerminal:
		p.terminal(e)
	case progressLog:
		p.log(e)
	}
}

func (p *progress) terminal(e pipeline.Event) {
	switch {
	case e.Stage == "denoise" && e.Step > 0:
		rate := float64(e.Step) / e.Elapsed.Seconds()
		fmt.Fprintf(p.w, "\rdenoise [%s] %d/%d  %.2f it/s  ETA %s ", bar(e.Step, e.Total),
			e.Step, e.Total, rate, eta(e.Step, e.Total, e.Elapsed))
	case e.Done && e.Stage == "denoise":
		fmt.Fprintf(p.w, "\n%-8s %8.2fs\n", e.Stage, e.Elapsed.Seconds())
	case e.Done:
		fmt.Fprintf(p.w, "%-8s %8.2fs\n", e.Stage, e.Elapsed.Seconds())
	}
}

func (p *progress) log(e pipeline.Event) {
	switch {
	case e.Stage == "denoise" && e.Step > 0:
		if e.Step == e.Total || e.Elapsed-p.lastLog < p.logEvery {
			return // the stage line follows the last step
		}
		p.lastLog = e.Elapsed
		fmt.Fprintf(p.w, "roentgen: denoise step %d/%d, %.0fs, ETA %s\n", e.Step, e.Total, e.Elapsed.Seconds(), eta(e.Step, e.Total, e.Elapsed))
	case e.Done:
		fmt.Fprintf(p.w, "roentgen: %s done in %.2fs\n", e.Stage, e.Elapsed.Seconds())
	}
}
