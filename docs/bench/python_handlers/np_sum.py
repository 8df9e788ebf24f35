INPUTS = "numpy"
INPUT_DTYPE = "float32"
def handle_batch(inputs):
    return [float(x.sum()) for x in inputs]
