/* The CPU workload's shared-library part (libcpuwork.so). */
unsigned long work_c(unsigned long units);
unsigned long spin(unsigned long units, unsigned long seed);
