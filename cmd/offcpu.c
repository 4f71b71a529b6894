/* cprof offcpu: where the threads of a process or a command wait, from its
 * context switches, as a pprof block profile; run as cprof cpu is. */
#include "cmd.h"

static const struct cmd_option cmd_offcpu_options[] = {
	{ CMD_OPT_PID(cpu_cmd_opts, pid) },
	{ CMD_OPT_SECONDS(cpu_cmd_opts, duration_ns), CMD_GIVEN(cpu_cmd_opts, duration_given) },
	{ CMD_OPT_MAX_RATE(cpu_cmd_opts, max_rate) },
	{ CMD_OPT_UNWIND(cpu_cmd_opts, fp) },
	{ CMD_CALLBACK(cpu_cmd_opts, stack_size, "stack-size", "BYTES", "bytes of user stack "
		       "copied per switch-out for dwarf unwinding, a multiple of 8",
		       cmd_set_stack_size), .min = 8, .max = 65528, .def_text = "16384" },
	{ CMD_OPT_PROFILE_OUTPUT(cpu_cmd_opts, output, "offcpu") },
	{ CMD_OPT_TOP(cpu_cmd_opts, top, "functions and threads in the printed summary") },
	{ 0 },
};

static int cmd_offcpu_exec(int argc, char **argv)
{
	return cmd_cpu_run(&cmd_offcpu, CMD_CPU_OFFCPU, NULL, argc, argv);
}

const struct cmd_entry cmd_offcpu = {
	.name = "offcpu",
	.summary = "profile where the threads of a process wait, off the CPU",
	.trailing = "[-- CMD [ARG...]]",
	.description =
		"Follows the context switches of every thread of a running process (--pid) or of a\n"
		"command that cprof starts (-- CMD): each time a thread leaves the CPU, its user\n"
		"stack is sampled, and the time until it runs again is added under that stack, as\n"
		"Go's block profile does (contentions/count, delay/nanoseconds), labelled with the\n"
		"thread and its state: blocked (waiting for I/O, a lock, a timer) or runnable\n"
		"(preempted, waiting for a CPU). Lock contention is the part under\n"
		"pthread_mutex_lock and the like: cprof report --focus pthread_mutex_lock shows it.\n"
		"Sampling the switches needs root or CAP_PERFMON, or kernel.perf_event_paranoid=1 or\n"
		"lower; without, each thread's off-CPU time is still measured, under [off-CPU].\n"
		"Beyond --max-rate switch-outs a second, one in several is sampled and weighted.\n"
		"Stops as cprof cpu does; the target is never stopped or traced.",
	.options = cmd_offcpu_options,
	.exec = cmd_offcpu_exec,
};
