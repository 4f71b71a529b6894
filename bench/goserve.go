// The peer of bench/serve.sh's idle measurement: a Go program that does
// nothing but serve net/http/pprof on the address given, as a Go service
// leaves it on in production.
package main

import (
	"log"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func main() {
	log.Fatal(http.ListenAndServe(os.Args[1], nil))
}
