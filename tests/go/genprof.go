// Command genprof writes small CPU and heap profiles with runtime/pprof.
//
// The cprof test suite uses it to check that cprof reads real profiles
// written by Go's runtime, including inlined frames and sample labels:
//
//	go run genprof.go -cpu cpu.pb.gz -heap heap.pb.gz [-seconds 1.5]
//
// CPU profile: two worker goroutines repeat rounds of 6 units of work in
// hotA, 3 in hotB and 1 in hotC, so hotA, hotB and hotC get about 60%, 30%
// and 10% of the busy time (cumulative). Each is reached through a chain of
// callers (worker -> round -> stageX -> spinX -> hotX). spinX and mix are
// small and get inlined (spinX into stageX, mix into hotX), so the profile
// has Locations with more than one Line. Stages A and B run under
// pprof.Do with the labels worker=a|b and stage=ab; stage C is unlabeled.
// The workload stops when the process has used -seconds of CPU time.
//
// Heap profile: with runtime.MemProfileRate = 1 (every allocation sampled)
// it allocates, from distinct functions called by heapWork:
//
//	allocSmall    1000 x 64 B, all kept live        (64000 B in use)
//	allocLarge       4 x 64 KiB, all kept live      (262144 B in use)
//	allocHalf      400 x 512 B, every other kept    (204800 B allocated, 102400 B in use)
//	allocGarbage  3000 x 128 B, none kept           (384000 B allocated, 0 B in use)
//
// then runs runtime.GC() and writes the "heap" profile (sample types
// alloc_objects, alloc_space, inuse_objects, inuse_space). The heap profile
// is taken before the CPU workload runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Sample every allocation. Set in a variable initializer so that it takes
// effect before main runs.
var _ = func() int {
	runtime.MemProfileRate = 1
	return 0
}()

// Iterations of the hot loop per unit of work.
const unit = 20000

var (
	stop int32 // set to 1 to stop the workers
	sink uint64
)

// mix is small enough to be inlined into its callers.
func mix(x uint64) uint64 {
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	return x
}

//go:noinline
func hotA(x uint64, n int) uint64 {
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x = x*6364136223846793005 + 1442695040888963407
		if i&3 == 0 {
			x = mix(x)
		}
	}
	return x
}

//go:noinline
func hotB(x uint64, n int) uint64 {
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x = x*6364136223846793005 + 1442695040888963407
		if i&3 == 0 {
			x = mix(x)
		}
	}
	return x
}

//go:noinline
func hotC(x uint64, n int) uint64 {
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x = x*6364136223846793005 + 1442695040888963407
		if i&3 == 0 {
			x = mix(x)
		}
	}
	return x
}

// spinA, spinB and spinC are inlined into their stage functions.
func spinA(x uint64) uint64 { return hotA(x, 6*unit) }
func spinB(x uint64) uint64 { return hotB(x, 3*unit) }
func spinC(x uint64) uint64 { return hotC(x, 1*unit) }

//go:noinline
func stageA(x uint64) uint64 { return spinA(x) }

//go:noinline
func stageB(x uint64) uint64 { return spinB(x) }

//go:noinline
func stageC(x uint64) uint64 { return spinC(x) }

//go:noinline
func round(ctx context.Context, name string, x uint64) uint64 {
	pprof.Do(ctx, pprof.Labels("worker", name, "stage", "ab"), func(context.Context) {
		x = stageA(x)
		x = stageB(x)
	})
	return stageC(x)
}

//go:noinline
func worker(name string, seed uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	ctx := context.Background()
	x := seed
	for atomic.LoadInt32(&stop) == 0 {
		x = round(ctx, name, x)
	}
	atomic.AddUint64(&sink, x)
}

// cpuTime returns the CPU time used by the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuWork runs two workers until the process has used about seconds of
// CPU time (or, as a safety net, 20 times that in wall-clock time).
func cpuWork(seconds float64) {
	budget := time.Duration(seconds * float64(time.Second))
	start, wall := cpuTime(), time.Now()
	var wg sync.WaitGroup
	for i, name := range []string{"a", "b"} {
		wg.Add(1)
		go worker(name, uint64(i+1), &wg)
	}
	for cpuTime()-start < budget && time.Since(wall) < 20*budget {
		time.Sleep(5 * time.Millisecond)
	}
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
}

var (
	keepSmall [1000][]byte
	keepLarge [4][]byte
	keepHalf  [200][]byte
	garbage   []byte
)

//go:noinline
func allocSmall() {
	for i := range keepSmall {
		keepSmall[i] = make([]byte, 64)
	}
}

//go:noinline
func allocLarge() {
	for i := range keepLarge {
		keepLarge[i] = make([]byte, 64<<10)
	}
}

//go:noinline
func allocHalf() {
	for i := 0; i < 2*len(keepHalf); i++ {
		b := make([]byte, 512)
		if i%2 == 0 {
			keepHalf[i/2] = b
		} else {
			garbage = b
		}
	}
	garbage = nil
}

//go:noinline
func allocGarbage() {
	for i := 0; i < 3000; i++ {
		garbage = make([]byte, 128)
	}
	garbage = nil
}

//go:noinline
func heapWork() {
	allocSmall()
	allocLarge()
	allocHalf()
	allocGarbage()
}

func writeHeap(path string) error {
	heapWork()
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeCPU(path string, seconds float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	cpuWork(seconds)
	pprof.StopCPUProfile()
	return f.Close()
}

func main() {
	cpu := flag.String("cpu", "", "write a CPU profile to `file`")
	heap := flag.String("heap", "", "write a heap profile to `file`")
	seconds := flag.Float64("seconds", 1.5, "CPU `seconds` to spend in the CPU workload")
	flag.Parse()
	if flag.NArg() != 0 || (*cpu == "" && *heap == "") || *seconds <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *heap != "" {
		if err := writeHeap(*heap); err != nil {
			fmt.Fprintln(os.Stderr, "genprof:", err)
			os.Exit(1)
		}
	}
	if *cpu != "" {
		if err := writeCPU(*cpu, *seconds); err != nil {
			fmt.Fprintln(os.Stderr, "genprof:", err)
			os.Exit(1)
		}
	}
}
