# Fails when any tracked C++/CUDA source differs from its clang-format output.
file(GLOB_RECURSE sources
  ${ROOT}/common/*.h ${ROOT}/common/*.cpp ${ROOT}/broker/*.h ${ROOT}/broker/*.cpp
  ${ROOT}/gateway/*.h ${ROOT}/gateway/*.cpp ${ROOT}/gpu_worker/*.h ${ROOT}/gpu_worker/*.cpp
  ${ROOT}/gpu_worker/*.cu ${ROOT}/cli/*.h ${ROOT}/cli/*.cpp ${ROOT}/tests/*.h ${ROOT}/tests/*.cpp
  ${ROOT}/bench/*.cpp ${ROOT}/examples/*.c)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${sources}
                RESULT_VARIABLE result ERROR_VARIABLE errors)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "clang-format would change these files (run clang-format -i):\n${errors}")
endif()
