// Thread scheduling: Comptoir's one serialization point is the database's writer thread (every
// change, from every channel, is committed by it). Request and sender threads lower their own
// scheduling priority a little so that, when the machine is busy, the writer is not left waiting
// for a CPU behind the requests that are themselves waiting for it.
#pragma once

namespace comptoir {

// How much request-handling threads lower their priority (a nice increment, Linux per thread).
inline constexpr int kRequestThreadNice = 5;

// Lowers the calling thread's priority by `increment` (nice value; only the calling thread on
// Linux). Best effort: a failure changes nothing and is not reported.
void lower_thread_priority(int increment);

}  // namespace comptoir
