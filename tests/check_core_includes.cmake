# The decision-making code (BrokerCore, WorkerRegistry, BatchPolicy and what they
# include) must reach no socket and no Redis: fails when one of their sources includes
# a ZeroMQ, hiredis or store header.
set(core_sources
  ${ROOT}/broker/broker_core.h ${ROOT}/broker/broker_core.cpp
  ${ROOT}/broker/worker_registry.h ${ROOT}/broker/worker_registry.cpp
  ${ROOT}/broker/batch_policy.h ${ROOT}/broker/batch_policy.cpp
  ${ROOT}/broker/cost_model.h ${ROOT}/broker/cost_model.cpp
  ${ROOT}/common/job_record.h ${ROOT}/common/job_record.cpp
  ${ROOT}/common/wire.h)
set(forbidden "zmq\\.h|zmq\\.hpp|hiredis|redis_connection\\.h|job_store\\.h|zmq_transport\\.h|boost/asio")
set(offenders "")
foreach(source ${core_sources})
  file(STRINGS ${source} includes REGEX "^#include")
  foreach(line ${includes})
    if(line MATCHES "${forbidden}")
      list(APPEND offenders "${source}: ${line}")
    endif()
  endforeach()
endforeach()
if(offenders)
  list(JOIN offenders "\n" text)
  message(FATAL_ERROR "the broker core reaches sockets or Redis:\n${text}")
endif()
