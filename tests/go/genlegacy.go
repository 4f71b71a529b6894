// Command genlegacy writes Go's text profiles, the legacy formats that
// go tool pprof still reads, with runtime/pprof's WriteTo(w, 1) (what a
// service's /debug/pprof/NAME?debug=1 answers):
//
//	go build -o genlegacy genlegacy.go && ./genlegacy -dir DIR
//
// It writes DIR/goroutine.txt, DIR/threadcreate.txt, DIR/heap.txt and
// DIR/block.txt. The cprof test suite reads each with cprof report and with
// go tool pprof (given this binary, to name the addresses) and compares them.
//
// Goroutines: 6 are parked in parkA, 3 in parkB and 1 in parkC, each under
// park, so the goroutine profile counts 6, 3 and 1 of them there (with main
// and any of the runtime's).
//
// Heap: with runtime.MemProfileRate = 4096 (so the sampling is undone as
// pprof undoes it) warmUp allocates 64 blocks of 64 KiB and keeps none,
// allocSmall keeps 2000 blocks of 64 B and allocLarge 16 of 64 KiB; the
// profile is written after two GCs (the second publishes the first's).
//
// Block: with runtime.SetBlockProfileRate(1), blockA waits on a channel
// 20 times for 2 ms and blockB 10 times for 1 ms, in the "--- contention:"
// format.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

var _ = func() int {
	runtime.MemProfileRate = 4096
	return 0
}()

var (
	release = make(chan struct{})
	parked  sync.WaitGroup
)

//go:noinline
func parkA() { parked.Done(); <-release }

//go:noinline
func parkB() { parked.Done(); <-release }

//go:noinline
func parkC() { parked.Done(); <-release }

//go:noinline
func park(f func()) { f() }

var (
	keepSmall [2000][]byte
	keepLarge [16][]byte
	garbage   []byte
)

// warmUp allocates 4 MiB and keeps none of it: past the first sample, which
// the runtime drew at its default rate before MemProfileRate was set, and
// so that the profile's allocations differ from what is in use (pprof
// gives such a heap profile its four sample types).
//
//go:noinline
func warmUp() {
	for i := 0; i < 64; i++ {
		garbage = make([]byte, 64<<10)
	}
	garbage = nil
}

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
func blockOn(d time.Duration) {
	c := make(chan int)
	go func() { time.Sleep(d); c <- 1 }()
	<-c
}

//go:noinline
func blockA() {
	for i := 0; i < 20; i++ {
		blockOn(2 * time.Millisecond)
	}
}

//go:noinline
func blockB() {
	for i := 0; i < 10; i++ {
		blockOn(time.Millisecond)
	}
}

func write(dir, name string) error {
	f, err := os.Create(filepath.Join(dir, name+".txt"))
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 1); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	dir := flag.String("dir", "", "write the profiles into `directory`")
	flag.Parse()
	if flag.NArg() != 0 || *dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	for _, p := range []struct {
		f func()
		n int
	}{{parkA, 6}, {parkB, 3}, {parkC, 1}} {
		for i := 0; i < p.n; i++ {
			parked.Add(1)
			go park(p.f)
		}
	}
	parked.Wait()
	warmUp()
	allocSmall()
	allocLarge()
	runtime.GC()
	runtime.GC()
	runtime.SetBlockProfileRate(1)
	blockA()
	blockB()
	runtime.SetBlockProfileRate(0)
	for _, name := range []string{"goroutine", "threadcreate", "heap", "block"} {
		if err := write(*dir, name); err != nil {
			fmt.Fprintln(os.Stderr, "genlegacy:", err)
			os.Exit(1)
		}
	}
	close(release)
}
