package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/roentgen-dev/roentgen/internal/pipeline"
)

// TestProgressLog checks what generate writes where stderr is not a
// terminal: a line per finished stage, and denoising steps at most one
// every logEvery, never the last (the stage line follows it).
func TestProgressLog(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, mode: progressLog, logEvery: 30 * time.Second}
	p.event(pipeline.Event{Stage: "encode", Done: true, Elapsed: 400 * time.Millisecond})
	for s := 1; s <= 6; s++ {
		p.event(pipeline.Event{Stage: "denoise", Step: s, Total: 6, Elapsed: time.Duration(s) * 20 * time.Second})
	}
	p.event(pipeline.Event{Stage: "denoise", Done: true, Elapsed: 120 * time.Second})
	want := "roentgen: encode done in 0.40s\n" +
		"roentgen: denoise step 2/6, 40s, ETA 1m20s\n" +
		"roentgen: denoise step 4/6, 80s, ETA 40s\n" +
		"roentgen: denoise done in 120.00s\n"
	if got := b.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	b.Reset()
	q := &progress{w: &b, mode: progressOff}
	q.event(pipeline.Event{Stage: "encode", Done: true})
	if b.Len() != 0 {
		t.Errorf("--quiet wrote %q", b.String())
	}
}
