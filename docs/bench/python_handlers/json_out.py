INPUTS = "numpy"
INPUT_DTYPE = "float32"
row = [0.123456789 * i for i in range(64)]
def handle_batch(inputs):
    return [{"embedding": row} for x in inputs]
