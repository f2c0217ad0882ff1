# LibTorch for the training-core build (NAS_TRAINING_CORE_ONLY, see
# scripts/gpu-check.sh). Sets TORCH_LIBRARIES, as find_package(Torch) does.
#
# Without NAS_LIBTORCH_ROOT: find_package(Torch) (Torch_DIR or
# CMAKE_PREFIX_PATH), exactly as the normal build.
#
# With NAS_LIBTORCH_ROOT (a directory with include/ and lib/: a LibTorch zip,
# or the torch/ folder of an installed PyTorch wheel): imports the libraries
# directly. TorchConfig.cmake of a CUDA LibTorch finds the CUDA toolkit
# (nvcc, headers) and fails without one, although code that includes no CUDA
# header, as the training core, needs none of it: the CUDA libraries are
# reached through libtorch_cuda.so, which must be linked even though no
# symbol of it is referenced (it registers the CUDA backend when loaded):
# hence --no-as-needed, as TorchConfig.cmake does.
if(NOT NAS_LIBTORCH_ROOT)
  find_package(Torch REQUIRED)
  return()
endif()

find_path(NAS_TORCH_INCLUDE_DIR torch/csrc/api/include/torch/version.h
  PATHS ${NAS_LIBTORCH_ROOT}/include NO_DEFAULT_PATH REQUIRED)
add_library(nas_libtorch INTERFACE)
target_include_directories(nas_libtorch SYSTEM INTERFACE
  ${NAS_TORCH_INCLUDE_DIR} ${NAS_TORCH_INCLUDE_DIR}/torch/csrc/api/include)
set(NAS_TORCH_LINK)
foreach(lib torch torch_cpu c10 torch_cuda c10_cuda)
  find_library(NAS_TORCH_${lib}_LIBRARY ${lib}
    PATHS ${NAS_LIBTORCH_ROOT}/lib NO_DEFAULT_PATH)
  if(NOT NAS_TORCH_${lib}_LIBRARY)
    if(lib MATCHES "cuda")
      continue()  # a CPU-only LibTorch
    endif()
    message(FATAL_ERROR
      "NAS_LIBTORCH_ROOT=${NAS_LIBTORCH_ROOT}: no lib${lib}.so in lib/")
  endif()
  if(lib STREQUAL "torch" OR lib STREQUAL "torch_cuda")
    # One token, so that nothing reorders the flags around the library.
    list(APPEND NAS_TORCH_LINK
      "-Wl,--no-as-needed,${NAS_TORCH_${lib}_LIBRARY},--as-needed")
  else()
    list(APPEND NAS_TORCH_LINK ${NAS_TORCH_${lib}_LIBRARY})
  endif()
endforeach()
# A wheel's libtorch_cuda.so finds the CUDA libraries of the nvidia-*
# wheels through its RUNPATH ($ORIGIN/../../nvidia/*/lib); the linker needs
# them named to check the executable's link.
file(GLOB NAS_TORCH_NVIDIA_LIB_DIRS LIST_DIRECTORIES true
  ${NAS_LIBTORCH_ROOT}/../nvidia/*/lib)
foreach(dir ${NAS_TORCH_NVIDIA_LIB_DIRS})
  list(APPEND NAS_TORCH_LINK "-Wl,-rpath-link,${dir}")
endforeach()
target_link_libraries(nas_libtorch INTERFACE ${NAS_TORCH_LINK}
  Threads::Threads)
if(NAS_TORCH_torch_cuda_LIBRARY)
  message(STATUS "LibTorch (imported, CUDA): ${NAS_LIBTORCH_ROOT}")
else()
  message(STATUS "LibTorch (imported, CPU only): ${NAS_LIBTORCH_ROOT}")
endif()
set(TORCH_LIBRARIES nas_libtorch)
