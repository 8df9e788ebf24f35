# Fails unless each executable in EXECUTABLES defines getpid in its dynamic symbol
# table, where libzmq's calls resolve (common/pid_cache.cpp). A binary that lost the
# object would fall back to glibc's system call and still work, so only this says so.
foreach(executable ${EXECUTABLES})
  execute_process(COMMAND ${NM} -D --defined-only ${executable}
                  OUTPUT_VARIABLE symbols RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "${NM} could not read ${executable}")
  endif()
  if(NOT symbols MATCHES "[0-9a-f]+ T getpid\n")
    message(FATAL_ERROR "${executable} does not define getpid: libzmq would make a system call for every signal")
  endif()
endforeach()
