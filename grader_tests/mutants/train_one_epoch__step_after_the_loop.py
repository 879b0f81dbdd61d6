"""train_one_epoch accumulates the gradients of every batch and takes one optimiser step after the loop
(one step per epoch instead of one per batch)."""

TASK = "train_one_epoch"
CELL = "train_one_epoch_solution"
SOURCE = '''
def train_one_epoch(model, batches, optimizer, device, scheduler=None, amp_dtype=None):
    device = torch.device(device)
    model.train()
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    count = 0
    optimizer.zero_grad(set_to_none=True)
    for x, y in batches:
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            scores = model(x)
            loss = F.cross_entropy(scores, y)
        loss.backward()
        total_loss += loss.detach().float() * y.shape[0]
        correct += (scores.detach().argmax(dim=1) == y).sum()
        count += y.shape[0]
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    count = max(count, 1)
    return {"loss": total_loss.item() / count, "accuracy": correct.item() / count}
'''
