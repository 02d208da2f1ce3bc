// Package cpubench measures the CPU time a benchmark uses, for machines
// shared with other work: there wall-clock ns/op measures the queue for
// the CPU as much as the code, while the process's CPU time per operation
// does not. Benchmarks that compare two costs within one run (a DPoP proof
// check against a bare signature verification) report both.
package cpubench

import (
	"testing"
	"time"
)

// Start returns the CPU time the process has used so far (user and
// system, every thread), or zero where the platform does not tell.
func Start() time.Duration { return cpuTime() }

// Report reports the CPU time used since start, which Start returned just
// before the timed loop, per operation as the metric "cpu-ns/op".
func Report(b *testing.B, start time.Duration) {
	if start == 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
