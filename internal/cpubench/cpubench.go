// Package cpubench measures the CPU time a benchmark uses, for machines
// shared with other work: there wall-clock ns/op measures the queue for
// the CPU as much as the code, while the process's CPU time per operation
// does not. Benchmarks that compare two costs (a DPoP proof check against a
// bare signature verification) run them interleaved ([Interleave]), so
// that a change of the machine's load hits both alike.
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

// Interleave runs each of ops n times, in turns of block runs of one op
// after block runs of the next, and returns the CPU time per run of each,
// in nanoseconds, in the order of ops. An op is given the number of its
// run, from 0 to n-1. It returns nil where the platform does not tell CPU
// times.
func Interleave(n, block int, ops ...func(i int)) []float64 {
	total := make([]time.Duration, len(ops))
	for start := 0; start < n; start += block {
		end := min(start+block, n)
		for k, op := range ops {
			t := cpuTime()
			for i := start; i < end; i++ {
				op(i)
			}
			total[k] += cpuTime() - t
		}
	}
	if cpuTime() == 0 || n == 0 {
		return nil
	}
	per := make([]float64, len(ops))
	for k, d := range total {
		per[k] = float64(d) / float64(n)
	}
	return per
}
